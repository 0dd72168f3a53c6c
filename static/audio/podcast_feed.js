// A new private feed address is shown once: a click selects all of it, ready
// to copy into a podcast app.
document.querySelectorAll("input[data-select-on-click]").forEach(function (input) {
  input.addEventListener("click", function () { input.select(); });
});
