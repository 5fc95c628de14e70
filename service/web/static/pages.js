// Behaviour of the pages. The Content-Security-Policy allows scripts from this site only, so
// nothing is inline in the templates: elements ask for behaviour with data attributes.
//   data-submit-on-change   on a form field: send its form when the choice changes
//   data-action="print"     print the page
//   data-action="back"      go back one page (the link's href is the fallback without history)
"use strict";

document.addEventListener("change", function (event) {
  var field = event.target.closest("[data-submit-on-change]");
  if (field && field.form) {
    field.form.submit();
  }
});

document.addEventListener("click", function (event) {
  var control = event.target.closest("[data-action]");
  if (!control) {
    return;
  }
  if (control.dataset.action === "print") {
    event.preventDefault();
    window.print();
  } else if (control.dataset.action === "back" && window.history.length > 1) {
    event.preventDefault();
    window.history.back();
  }
});
