// The cashier counter: one scan field, a basket with + / − / remove, a sticky bar with the total and the
// balance after, problems shown while the basket is built, one confirm step, "next customer".
// A scanner types the code and presses Enter; Enter never redeems (only the confirm dialog does).
"use strict";

(function () {
  var root = document.querySelector("[data-counter]");
  if (!root) {
    return;
  }
  function data(id) {
    return JSON.parse(document.getElementById(id).textContent);
  }
  var products = data("counter-catalogue");
  var start = data("counter-state");
  var words = data("counter-words");
  var byId = {};
  products.forEach(function (p) { byId[p.id] = p; });

  var scan = document.getElementById("scan");
  var message = document.getElementById("scan-message");
  var suggestions = document.getElementById("suggestions");
  var form = document.getElementById("basket-form");
  var linesList = document.getElementById("lines");
  var paidFrom = document.getElementById("paid_from");
  var checkout = document.getElementById("checkout");
  var dialog = document.getElementById("confirm");
  var csrf = form.querySelector("input[name=csrf_token]").value;

  // lines: [{id, qty}] in the order added; actingFor: the elder a named helper (代办) redeems for
  // helperFor: the resident on screen whose helper's card is to be scanned next
  var state = { cardCode: "", resident: null, actingFor: null, helperFor: null, lines: [] };

  function say(template, values) {
    return String(template).replace(/%\((\w+)\)s/g, function (_m, key) {
      return values && values[key] !== undefined ? values[key] : "";
    });
  }
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }
  function show(text, bad) {
    message.textContent = text || "";
    message.className = text ? (bad ? "alert error" : "alert ok") : "";
  }

  // --- finding what was scanned or typed ---------------------------------------------------------

  function exact(code) {
    var low = code.toLowerCase();
    for (var i = 0; i < products.length; i++) {
      var p = products[i];
      if ((p.barcode && p.barcode === code) || p.sku.toLowerCase() === low) {
        return p;
      }
    }
    return null;
  }
  function search(text) {
    var q = text.trim().toLowerCase();
    if (!q) {
      return [];
    }
    return products.filter(function (p) {
      return p.name.toLowerCase().indexOf(q) !== -1 || p.initials.indexOf(q) === 0 ||
        p.sku.toLowerCase().indexOf(q) === 0 || (p.barcode && p.barcode.indexOf(q) === 0);
    }).slice(0, 8);
  }
  function looksLikeCard(code) {
    return /^[A-Za-z0-9_-]{12,32}$/.test(code);
  }

  function handle(raw) {
    var code = (raw || "").trim();
    scan.value = "";
    hideSuggestions();
    if (!code) {
      return;
    }
    var product = exact(code);
    if (product) {
      add(product.id, 1);
      return;
    }
    var found = search(code);
    if (found.length === 1 && !looksLikeCard(code)) {
      add(found[0].id, 1);
      return;
    }
    lookUp(code);
  }

  function lookUp(code) {
    var body = new URLSearchParams();
    body.set("card_code", code);
    body.set("csrf_token", csrf);
    fetch(root.dataset.lookupUrl, {
      method: "POST",
      headers: { "X-CSRFToken": csrf, "Content-Type": "application/x-www-form-urlencoded" },
      body: body.toString(),
      credentials: "same-origin",
    }).then(function (response) {
      return response.json().then(function (json) { return { ok: response.ok, json: json }; });
    }).then(function (answer) {
      if (answer.ok && state.helperFor) {
        helperScanned(answer.json);
      } else if (answer.ok) {
        state.cardCode = answer.json.card_code;
        state.resident = answer.json.resident;
        state.actingFor = null;
        paidFrom.value = "member";
        show(say(words.found, { name: state.resident.masked_name }));
        render();
      } else if (search(code).length) {
        showSuggestions(code);
      } else {
        show(looksLikeCard(code) ? answer.json.error : say(words.not_found, { q: code }), true);
      }
      scan.focus();
    }).catch(function () {
      show(say(words.not_found, { q: code }), true);
    });
  }

  // --- suggestions (name, pinyin initials, SKU or barcode typed by hand) ------------------------

  function hideSuggestions() {
    suggestions.hidden = true;
    suggestions.textContent = "";
  }
  function showSuggestions(text) {
    var found = search(text);
    suggestions.textContent = "";
    found.forEach(function (p) {
      var item = el("li");
      var button = el("button", { type: "button", "class": "suggestion", "data-product": p.id });
      button.appendChild(el("span", {}, p.name));
      button.appendChild(el("span", { "class": "muted" }, " " + p.price + " · " + levelWord(p)));
      item.appendChild(button);
      suggestions.appendChild(item);
    });
    suggestions.hidden = found.length === 0;
  }
  function levelWord(p) {
    return words["level_" + p.level];
  }

  // --- the basket --------------------------------------------------------------------------------

  function line(id) {
    for (var i = 0; i < state.lines.length; i++) {
      if (state.lines[i].id === id) {
        return state.lines[i];
      }
    }
    return null;
  }
  function add(id, delta) {
    var existing = line(id);
    if (existing) {
      existing.qty = Math.max(0, existing.qty + delta);
      if (existing.qty === 0) {
        remove(id);
        return;
      }
    } else if (delta > 0) {
      state.lines.push({ id: id, qty: delta });
    }
    show(say(words.added, { name: byId[id].name }));
    render();
  }
  function remove(id) {
    state.lines = state.lines.filter(function (l) { return l.id !== id; });
    render();
  }
  function available() {
    if (!state.resident) {
      return null;
    }
    if (state.actingFor) {
      return state.actingFor.coins;
    }
    if (paidFrom.value === "household" && state.resident.household_coins !== null) {
      return state.resident.household_coins;
    }
    return state.resident.coins;
  }
  function total() {
    return state.lines.reduce(function (sum, l) { return sum + l.qty * byId[l.id].price; }, 0);
  }

  function lineProblem(l) {
    var p = byId[l.id];
    if (p.stock <= 0) {
      return words.out;
    }
    if (l.qty > p.stock) {
      return say(words.stock_only, { n: p.stock });
    }
    if (l.qty > words.max_line) {
      return say(words.more_than_line, { n: words.max_line });
    }
    return "";
  }

  function render() {
    document.getElementById("card_code").value = state.cardCode;
    var details = document.getElementById("resident-details");
    document.getElementById("no-resident").hidden = !!state.resident;
    details.hidden = !state.resident;
    if (state.resident) {
      document.getElementById("masked-name").textContent = state.resident.masked_name;
      document.getElementById("available-coins").textContent = state.resident.coins;
      var hasHousehold = !state.actingFor && state.resident.household_coins !== null &&
        state.resident.household_coins !== undefined;
      document.getElementById("household-coins-wrap").hidden = !hasHousehold;
      document.getElementById("paid-from-wrap").hidden = !hasHousehold;
      if (hasHousehold) {
        document.getElementById("household-coins").textContent = state.resident.household_coins;
      }
    }
    renderActing();

    linesList.textContent = "";
    var problems = [];
    state.lines.forEach(function (l) {
      var p = byId[l.id];
      var item = el("li", { "class": "basket-line", "data-testid": "line" });
      var name = el("div", { "class": "line-name" });
      name.appendChild(el("strong", {}, p.name));
      name.appendChild(el("span", { "class": "muted" }, " " + p.price + " × " + l.qty + " = " + (p.price * l.qty)));
      var problem = lineProblem(l);
      if (problem) {
        name.appendChild(el("div", { "class": "field-error", "data-testid": "line-problem" }, problem));
        problems.push(p.name + ": " + problem);
      }
      item.appendChild(name);
      var controls = el("div", { "class": "stepper" });
      controls.appendChild(el("button", { type: "button", "class": "secondary step", "data-less": l.id,
        "aria-label": say(words.less, { name: p.name }) }, "−"));
      controls.appendChild(el("input", { type: "number", inputmode: "numeric", min: "1", max: String(words.max_line),
        name: "qty_" + l.id, value: String(l.qty), "data-qty": l.id, "aria-label": say(words.quantity, { name: p.name }) }));
      controls.appendChild(el("button", { type: "button", "class": "secondary step", "data-more": l.id,
        "aria-label": say(words.more, { name: p.name }) }, "+"));
      controls.appendChild(el("button", { type: "button", "class": "link remove", "data-remove": l.id,
        "aria-label": say(words.remove, { name: p.name }) }, "×"));
      item.appendChild(controls);
      linesList.appendChild(item);
    });
    document.getElementById("empty-basket").hidden = state.lines.length > 0;

    var sum = total();
    var have = available();
    document.getElementById("total").textContent = sum;
    var after = document.getElementById("balance-after");
    after.textContent = have === null ? "–" : String(have - sum);
    after.className = have !== null && have - sum < 0 ? "amount-minus" : "";
    if (!state.resident && state.lines.length) {
      problems.unshift(words.no_resident);
    }
    if (have !== null && sum > have) {
      problems.unshift(say(words.short, { n: sum - have }));
    }
    if (state.actingFor && sum > state.actingFor.coins_left_this_month) {
      problems.unshift(say(words.over_cap, { n: state.actingFor.coins_left_this_month }));
    }
    var bar = document.getElementById("bar-problems");
    bar.textContent = "";
    problems.forEach(function (text) { bar.appendChild(el("div", {}, text)); });
    checkout.disabled = !state.resident || !state.lines.length || problems.length > 0;
  }

  // --- a named helper (代办) redeeming for an elder: the elder's coins, "acting for" always in view ----

  function renderActing() {
    var choices = (state.resident && state.resident.acting_for) || [];
    var buttons = document.getElementById("acting-buttons");
    var banner = document.getElementById("acting-banner");
    buttons.textContent = "";
    choices.forEach(function (elder) {
      buttons.appendChild(el("button", { type: "button", "class": "secondary", "data-elder": elder.elder_member_id,
        "data-testid": "act-for" }, say(words.act_for, {
          name: elder.elder_name, coins: elder.coins, left: elder.coins_left_this_month })));
    });
    document.getElementById("acting-choices").hidden = !choices.length || !!state.actingFor;
    document.getElementById("acting-details").hidden = !state.actingFor;
    document.getElementById("helper-for-wrap").hidden = !state.resident || !!state.actingFor;
    document.getElementById("acting_for").value = state.actingFor ? state.actingFor.elder_member_id : "";
    banner.hidden = !state.actingFor;
    banner.textContent = state.actingFor
      ? say(words.acting_for, { elder: state.actingFor.elder_name, helper: state.resident.masked_name }) : "";
    if (state.actingFor) {
      document.getElementById("masked-name").textContent = say(words.for_elder, {
        elder: state.actingFor.elder_name, helper: state.resident.masked_name });
      document.getElementById("available-coins").textContent = state.actingFor.coins;
    }
  }
  function actFor(id) {
    var choices = (state.resident && state.resident.acting_for) || [];
    state.actingFor = null;
    choices.forEach(function (elder) {
      if (elder.elder_member_id === id) {
        state.actingFor = elder;
      }
    });
    paidFrom.value = "member";
    render();
    scan.focus();
  }
  document.getElementById("acting-buttons").addEventListener("click", function (event) {
    var button = event.target.closest("[data-elder]");
    if (button) {
      actFor(Number(button.dataset.elder));
    }
  });
  document.getElementById("stop-acting").addEventListener("click", function () { actFor(null); });
  // Or the elder's card first: "a helper is redeeming", then the helper's card.
  function helperScanned(json) {
    var elder = state.resident;
    var grant = null;
    (json.resident.acting_for || []).forEach(function (e) {
      if (e.elder_member_id === state.helperFor) {
        grant = e;
      }
    });
    state.helperFor = null;
    if (!grant) {
      show(say(words.not_helper, { name: elder.masked_name }), true);
      render();
      return;
    }
    state.cardCode = json.card_code;
    state.resident = json.resident;
    state.actingFor = grant;
    paidFrom.value = "member";
    show(say(words.acting_for, { elder: grant.elder_name, helper: json.resident.masked_name }));
    render();
  }
  document.getElementById("helper-for").addEventListener("click", function () {
    if (state.resident && !state.actingFor) {
      state.helperFor = state.resident.member_id;
      show(words.scan_helper);
      scan.focus();
    }
  });

  // --- confirm, redeem, next customer -------------------------------------------------------------

  function openConfirm() {
    if (checkout.disabled) {
      return;
    }
    var count = state.lines.reduce(function (n, l) { return n + l.qty; }, 0);
    document.getElementById("confirm-name").textContent = state.actingFor
      ? say(words.for_elder, { elder: state.actingFor.elder_name, helper: state.resident.masked_name })
      : state.resident.masked_name;
    document.getElementById("confirm-items").textContent = say(words.items, { n: count });
    document.getElementById("confirm-total").textContent = total();
    document.getElementById("confirm-after").textContent = available() - total();
    dialog.showModal();
    document.getElementById("confirm-redeem").focus();
  }
  var sending = false;
  function redeem() {
    if (sending) {
      return;
    }
    sending = true;
    document.getElementById("confirm-redeem").disabled = true;
    HTMLFormElement.prototype.submit.call(form);
  }
  function nextCustomer() {
    state = { cardCode: "", resident: null, actingFor: null, helperFor: null, lines: [] };
    show("");
    hideSuggestions();
    render();
    scan.value = "";
    scan.focus();
  }

  // --- events ------------------------------------------------------------------------------------

  scan.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault();
      handle(scan.value);
    } else if (event.key === "Escape") {
      scan.value = "";
      hideSuggestions();
    }
  });
  scan.addEventListener("input", function () {
    var text = scan.value.trim();
    if (text.length >= 1 && !looksLikeCard(text)) {
      showSuggestions(text);
    } else {
      hideSuggestions();
    }
  });
  suggestions.addEventListener("click", function (event) {
    var button = event.target.closest("[data-product]");
    if (button) {
      add(Number(button.dataset.product), 1);
      scan.value = "";
      hideSuggestions();
      scan.focus();
    }
  });
  linesList.addEventListener("click", function (event) {
    var target = event.target.closest("button");
    if (!target) {
      return;
    }
    if (target.dataset.less) {
      add(Number(target.dataset.less), -1);
    } else if (target.dataset.more) {
      add(Number(target.dataset.more), 1);
    } else if (target.dataset.remove) {
      remove(Number(target.dataset.remove));
      scan.focus();
    }
  });
  linesList.addEventListener("change", function (event) {
    var id = Number(event.target.dataset.qty);
    if (id) {
      var l = line(id);
      var qty = parseInt(event.target.value, 10);
      if (!qty || qty < 1) {
        remove(id);
      } else {
        l.qty = qty;
        render();
      }
    }
  });
  // Enter in a quantity box (or any way of sending the form) asks for the confirm step, never redeems.
  function commitAndConfirm(event) {
    event.preventDefault();
    linesList.querySelectorAll("input[data-qty]").forEach(function (input) {
      input.dispatchEvent(new Event("change", { bubbles: true }));
    });
    openConfirm();
  }
  form.addEventListener("submit", commitAndConfirm);
  linesList.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.matches("input[data-qty]")) {
      commitAndConfirm(event);
    }
  });
  paidFrom.addEventListener("change", render);
  checkout.addEventListener("click", openConfirm);
  document.getElementById("confirm-back").addEventListener("click", function () { dialog.close(); scan.focus(); });
  document.getElementById("confirm-redeem").addEventListener("click", redeem);
  document.getElementById("next-customer").addEventListener("click", nextCustomer);

  // --- the camera: BarcodeDetector where the browser has it, otherwise the vendored jsQR ------------

  var cameraBox = document.getElementById("camera");
  var video = document.getElementById("camera-video");
  var stream = null;
  function stopCamera() {
    if (stream) {
      stream.getTracks().forEach(function (t) { t.stop(); });
      stream = null;
    }
    cameraBox.hidden = true;
    scan.focus();
  }
  function loadJsQR() {
    if (window.jsQR) {
      return Promise.resolve(window.jsQR);
    }
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = root.dataset.jsqrUrl;
      script.onload = function () { resolve(window.jsQR); };
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }
  function detector() {
    if ("BarcodeDetector" in window) {
      var native = new window.BarcodeDetector({ formats: ["qr_code", "ean_13", "ean_8", "upc_a", "code_128"] });
      return Promise.resolve(function (source) {
        return native.detect(source).then(function (codes) { return codes.length ? codes[0].rawValue : null; });
      });
    }
    return loadJsQR().then(function (jsQR) {
      var canvas = document.createElement("canvas");
      var context = canvas.getContext("2d", { willReadFrequently: true });
      return function (source) {
        canvas.width = source.videoWidth;
        canvas.height = source.videoHeight;
        context.drawImage(source, 0, 0);
        var image = context.getImageData(0, 0, canvas.width, canvas.height);
        var code = jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
        return Promise.resolve(code ? code.data : null);
      };
    });
  }
  document.getElementById("camera-button").addEventListener("click", function () {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      show(words.camera_none, true);
      return;
    }
    Promise.all([
      navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }),
      detector(),
    ]).then(function (ready) {
      stream = ready[0];
      var read = ready[1];
      video.srcObject = stream;
      cameraBox.hidden = false;
      video.play();
      function tick() {
        if (!stream) {
          return;
        }
        if (video.readyState < 2) {
          window.setTimeout(tick, 200);
          return;
        }
        read(video).then(function (code) {
          if (code) {
            stopCamera();
            handle(code);
          } else {
            window.setTimeout(tick, 250);
          }
        }, function () { window.setTimeout(tick, 500); });
      }
      tick();
    }).catch(function () {
      show(words.camera_none, true);
    });
  });
  document.getElementById("camera-close").addEventListener("click", stopCamera);

  // --- start (after a refused basket, the page comes back with the basket as it was) --------------

  if (start.resident) {
    state.cardCode = start.card_code;
    state.resident = start.resident;
    paidFrom.value = start.paid_from || "member";
    (start.resident.acting_for || []).forEach(function (elder) {
      if (elder.elder_member_id === start.acting_for) {
        state.actingFor = elder;
      }
    });
  }
  (start.lines || []).forEach(function (pair) {
    if (byId[pair[0]]) {
      state.lines.push({ id: pair[0], qty: pair[1] });
    }
  });
  render();
  scan.focus();
  root.dataset.ready = "1";
}());
