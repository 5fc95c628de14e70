// Checks a downloaded Greencoin statement (greencoin-statement/1) in the browser, with WebCrypto's
// SHA-256 and no call to any server: the same rules as ledger/merkle.py verify_statement and
// docs/statement-proofs.md. Nothing here trusts the server that produced the file.
(function () {
  "use strict";
  var enc = new TextEncoder();

  function hex(buf) {
    return Array.prototype.map.call(new Uint8Array(buf), function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }
  function bytes(h) {
    var out = new Uint8Array(h.length / 2);
    for (var i = 0; i < out.length; i++) out[i] = parseInt(h.substr(i * 2, 2), 16);
    return out;
  }
  function concat(prefix, parts) {
    var size = 1 + parts.reduce(function (n, p) { return n + p.length; }, 0);
    var out = new Uint8Array(size), at = 1;
    out[0] = prefix;
    parts.forEach(function (p) { out.set(p, at); at += p.length; });
    return out;
  }
  function sha(data) { return crypto.subtle.digest("SHA-256", data); }

  async function rootFromPath(contentHash, path) {
    var digest = new Uint8Array(await sha(concat(0, [bytes(contentHash)])));
    for (var i = 0; i < path.length; i++) {
      var other = bytes(path[i][1]);
      var pair = path[i][0] === "L" ? [other, digest] : [digest, other];
      digest = new Uint8Array(await sha(concat(1, pair)));
    }
    return hex(digest);
  }
  async function blockHash(prev, root) { return hex(await sha(enc.encode(prev + root))); }
  function sameLine(a, b) { return a[0] === b[0] && a[1] === b[1] && a[2] === b[2]; }

  async function verify(doc, head, t) {
    var problems = [];
    if (!doc || doc.format !== "greencoin-statement/1") return [t.format];
    var headers = {};
    (doc.blocks || []).forEach(function (b) { headers[b.number] = b; });
    var numbers = Object.keys(headers).map(Number).sort(function (a, b) { return a - b; });
    for (var i = 1; i < numbers.length; i++) {
      var before = headers[numbers[i - 1]], after = headers[numbers[i]];
      if (after.number !== before.number + 1 || after.prev !== before.hash) problems.push(t.blockOrder + " " + after.number);
    }
    for (var j = 0; j < numbers.length; j++) {
      var b = headers[numbers[j]];
      if (await blockHash(b.prev, b.root) !== b.hash) problems.push(t.blockHash + " " + b.number);
    }
    if (numbers.length && headers[numbers[numbers.length - 1]].hash !== head.toLowerCase()) problems.push(t.head);
    var lines = doc.lines || [], proven = 0;
    for (var n = 0; n < lines.length; n++) {
      var line = lines[n], label = t.line + " " + (n + 1), body;
      var digest = hex(await sha(enc.encode(line.canonical || "")));
      try { body = JSON.parse(line.canonical); } catch (e) { problems.push(label + ": " + t.notJson); continue; }
      if (!(body.lines || []).some(function (l) { return sameLine(l, [line.account_id, line.unit, line.amount]); })) {
        problems.push(label + ": " + t.amount);
      }
      if (body.at !== line.at) problems.push(label + ": " + t.date);
      if (!line.proof) continue;
      var block = headers[line.proof.block];
      if (!block || await rootFromPath(digest, line.proof.path) !== block.root) problems.push(label + ": " + t.notInBooks);
      else proven++;
    }
    var byAccount = {};
    lines.forEach(function (l) { (byAccount[l.account_id] = byAccount[l.account_id] || []).push(l); });
    Object.keys(byAccount).forEach(function (acc) {
      var ls = byAccount[acc].slice().sort(function (a, b) { return a.version - b.version; });
      for (var k = 1; k < ls.length; k++) {
        if (ls[k].version !== ls[k - 1].version + 1 || ls[k].balance_after !== ls[k - 1].balance_after + ls[k].amount) {
          problems.push(t.missing + " (" + ls[k].version + ")");
        }
      }
    });
    return { problems: problems, proven: proven, total: lines.length };
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("verify-form");
    if (!form) return;
    var t = JSON.parse(document.getElementById("verify-words").textContent);
    form.addEventListener("submit", async function (event) {
      event.preventDefault();
      var out = document.getElementById("verify-result");
      var file = document.getElementById("f-statement").files[0];
      var head = document.getElementById("f-head").value.trim();
      out.className = "card";
      if (!file || !/^[0-9a-fA-F]{64}$/.test(head)) { out.textContent = t.input; return; }
      var doc;
      try { doc = JSON.parse(await file.text()); } catch (e) { out.textContent = t.format; return; }
      var result = await verify(doc, head, t);
      if (Array.isArray(result)) result = { problems: result, proven: 0, total: 0 };
      out.innerHTML = "";
      var title = document.createElement("p");
      title.className = result.problems.length ? "field-error" : "ok";
      title.setAttribute("data-testid", result.problems.length ? "verify-failed" : "verify-ok");
      title.textContent = result.problems.length ? t.failed : t.ok.replace("%(proven)s", result.proven).replace("%(total)s", result.total);
      out.appendChild(title);
      var list = document.createElement("ul");
      result.problems.forEach(function (p) {
        var li = document.createElement("li");
        li.textContent = p;
        list.appendChild(li);
      });
      if (result.problems.length) out.appendChild(list);
    });
  });
})();
