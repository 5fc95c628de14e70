// The activity roster: Enter (a scanner's or a person's) in the "add" field adds a volunteer row; it
// never sends the form. Each row keeps its own optional start and end.
"use strict";

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
  function addRow(value) {
    var n = list.children.length + 1;
    var row = el("li", { "class": "roster-row", "data-testid": "roster-row" });
    row.appendChild(el("input", { type: "hidden", name: "volunteer", value: value }));
    row.appendChild(el("strong", { "class": "who" }, value));
    var start = el("input", { type: "time", name: "row_start", "aria-label": list.dataset.startWord + " " + n });
    var end = el("input", { type: "time", name: "row_end", "aria-label": list.dataset.endWord + " " + n });
    row.appendChild(start);
    row.appendChild(end);
    row.appendChild(el("button", { type: "button", "class": "secondary", "data-remove": "1",
      "aria-label": list.dataset.removeWord + " " + value }, "×"));
    list.appendChild(row);
    renumber();
  }
  add.addEventListener("keydown", function (event) {
    if (event.key === "Enter") {
      event.preventDefault();
      var value = add.value.trim();
      if (value) {
        addRow(value);
      }
      add.value = "";
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
