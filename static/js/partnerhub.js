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
  // Forms (or one of their buttons) that ask before doing something irreversible:
  // data-confirm="text".
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var text = (button && button.getAttribute && button.getAttribute("data-confirm")) ||
      (form && form.getAttribute && form.getAttribute("data-confirm"));
    if (text && !window.confirm(text)) {
      event.preventDefault();
    }
  }, true);
  // Shortened ids (data-copy="full value"): a click copies the whole id.
  document.addEventListener("click", function (event) {
    var el = event.target && event.target.closest && event.target.closest("[data-copy]");
    if (!el || !navigator.clipboard) {
      return;
    }
    navigator.clipboard.writeText(el.getAttribute("data-copy")).then(function () {
      el.classList.add("copied");
      window.setTimeout(function () { el.classList.remove("copied"); }, 1200);
    }, function () {});
  });
  // Copying a selection that holds shortened ids copies their whole values.
  document.addEventListener("copy", function (event) {
    var selection = window.getSelection();
    if (!selection || selection.isCollapsed || !event.clipboardData) {
      return;
    }
    var holder = document.createElement("div");
    holder.appendChild(selection.getRangeAt(0).cloneContents());
    var ids = holder.querySelectorAll("[data-copy]");
    if (!ids.length) {
      return;
    }
    ids.forEach(function (el) { el.textContent = el.getAttribute("data-copy"); });
    event.clipboardData.setData("text/plain", holder.textContent);
    event.preventDefault();
  });
  // Auto-submit filter forms when a select or checkbox changes.
  document.addEventListener("change", function (event) {
    var t = event.target;
    if (t && t.form && t.form.hasAttribute("data-autosubmit") &&
        (t.tagName === "SELECT" || t.type === "checkbox")) {
      t.form.requestSubmit();
    }
  });
})();
