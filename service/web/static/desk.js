// The activity roster: Enter (a scanner's or a person's) in the "add" field adds a volunteer row; it
// never sends the form. Each row keeps its own optional start and end.
"use strict";

// "Tick all" on the pending records ticks every record's box (the form="bulk" checkboxes).
document.addEventListener("change", function (event) {
  var all = event.target.closest("[data-tick-all]");
  if (all) {
    document.querySelectorAll("input[name=record_ids]").forEach(function (box) { box.checked = all.checked; });
  }
});

(function () {
  var form = document.querySelector("[data-roster]");
  if (!form) {
    return;
  }
  var add = document.getElementById("add-volunteer");
  var list = document.getElementById("roster-rows");
  var count = document.getElementById("roster-count");

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined) {
      node.textContent = text;
    }
    return node;
  }
  function renumber() {
    count.textContent = String(list.children.length);
  }
  var csrf = form.querySelector("input[name=csrf_token]").value;
  var message = document.getElementById("roster-message");
  function lookUp(value) {
    var body = new URLSearchParams();
    body.set("q", value);
    return fetch(form.dataset.personUrl, {
      method: "POST",
      headers: { "X-CSRFToken": csrf, "Content-Type": "application/x-www-form-urlencoded" },
      body: body.toString(),
      credentials: "same-origin",
    }).then(function (response) {
      return response.json().then(function (json) { return { ok: response.ok, json: json }; });
    });
  }
  function addRow(person) {
    var n = list.children.length + 1;
    var value = person.volunteer_number;
    var row = el("li", { "class": "roster-row", "data-testid": "roster-row" });
    row.appendChild(el("input", { type: "hidden", name: "volunteer", value: value }));
    var who = el("span", { "class": "who" });
    who.appendChild(el("strong", {}, person.name));
    who.appendChild(el("span", { "class": "muted" }, " " + value));
    row.appendChild(who);
    var start = el("input", { type: "time", name: "row_start", "aria-label": list.dataset.startWord + " " + n });
    var end = el("input", { type: "time", name: "row_end", "aria-label": list.dataset.endWord + " " + n });
    row.appendChild(start);
    row.appendChild(end);
    row.appendChild(el("button", { type: "button", "class": "secondary", "data-remove": "1",
      "aria-label": list.dataset.removeWord + " " + person.name }, "×"));
    list.appendChild(row);
    renumber();
  }
  add.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault();
      var value = add.value.trim();
      add.value = "";
      if (!value) {
        return;
      }
      lookUp(value).then(function (answer) {
        if (answer.ok) {
          addRow(answer.json);
          message.textContent = "";
          message.className = "";
        } else {
          message.textContent = answer.json.error + " (" + value.slice(0, 3) + "…)";
          message.className = "alert error";
        }
      });
    }
  });
  list.addEventListener("click", function (event) {
    if (event.target.closest("[data-remove]")) {
      event.target.closest("li").remove();
      renumber();
      add.focus();
    }
  });
}());
