// A feed address is a read-only field anyone can select and copy; with
// JavaScript a click selects all of it, the field grows to show all of it,
// and a button copies it.
(function () {
  "use strict";

  function fit(field) {
    field.style.height = "auto";
    field.style.height = field.scrollHeight + 2 + "px";
  }

  function copied(field) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(field.value);
    }
    // Without the clipboard API (a page not served over https): the older
    // command, which copies the selection.
    field.focus();
    field.select();
    return document.execCommand("copy") ? Promise.resolve() : Promise.reject(new Error("copy"));
  }

  document.querySelectorAll("[data-feed-address]").forEach(function (box) {
    var field = box.querySelector("textarea");
    var button = box.querySelector("[data-copy]");
    var status = box.querySelector("[data-copy-status]");
    field.addEventListener("click", function () { field.select(); });
    fit(field);
    window.addEventListener("resize", function () { fit(field); });
    button.closest("[hidden]").hidden = false;
    button.addEventListener("click", function () {
      copied(field).then(
        function () { status.textContent = "Copied."; },
        function () {
          field.focus();
          field.select();
          status.textContent = "Could not copy: the address is selected, copy it with your keyboard.";
        }
      );
    });
  });
})();
