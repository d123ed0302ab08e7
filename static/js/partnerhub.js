// PartnerHub's only script: small behaviours htmx does not give us without eval.
(function () {
  "use strict";
  // Pause polling while the tab is hidden; the next tick after it shows again polls.
  document.addEventListener("htmx:confirm", function (event) {
    var elt = event.detail && event.detail.elt;
    if (document.hidden && elt && elt.hasAttribute("data-poll")) {
      event.preventDefault();
    }
  });
  // Buttons that ask before doing something irreversible: data-confirm="text".
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var text = form && form.getAttribute && form.getAttribute("data-confirm");
    if (text && !window.confirm(text)) {
      event.preventDefault();
    }
  }, true);
  // Auto-submit filter forms when a select or checkbox changes.
  document.addEventListener("change", function (event) {
    var t = event.target;
    if (t && t.form && t.form.hasAttribute("data-autosubmit") &&
        (t.tagName === "SELECT" || t.type === "checkbox")) {
      t.form.requestSubmit();
    }
  });
})();
