/* Aftercare Scheduler: the little script the pages need beyond htmx. Loaded as a file (the
   CSP allows no inline script); every page works without it. */
(function () {
  "use strict";
  var opener = null;

  function dialog() { return document.getElementById("dialog"); }

  // A fragment swapped into the dialog opens it as a modal; focus goes to its first field.
  document.addEventListener("htmx:afterSwap", function (event) {
    var d = dialog();
    if (!d || event.detail.target.id !== "dialog-body") { return; }
    if (!d.open) {
      opener = document.activeElement;
      d.showModal();
    }
    // [autofocus] first: a confirmation focuses its way back, not the button that does harm.
    var first = d.querySelector("[autofocus]") ||
      d.querySelector("input:not([type=hidden]), select, textarea, button");
    if (first) { first.focus(); }
  });

  // Closing returns focus to the slot that opened it.
  document.addEventListener("close", function (event) {
    if (event.target === dialog() && opener && document.body.contains(opener)) { opener.focus(); }
  }, true);

  document.addEventListener("click", function (event) {
    var closer = event.target.closest("[data-close-dialog]");
    if (closer && dialog() && dialog().open) {
      event.preventDefault();
      dialog().close();
    }
  });

  // Picking a patient from the live search fills the field the form posts.
  document.addEventListener("change", function (event) {
    var pick = event.target.closest("input[name=patient_id]");
    if (pick) {
      var form = pick.closest("form");
      var box = form && form.querySelector("[data-picked]");
      if (box) { box.textContent = pick.dataset.label || ""; }
    }
  });
})();
