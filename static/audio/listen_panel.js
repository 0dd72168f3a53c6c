// The "Listen" button of a pronunciation entry in the admin: plays the
// sample sentence (or the phrase) read with the entry's values, unsaved.
(function () {
  function value(name) {
    var field = document.querySelector("[name='" + name + "']");
    if (!field) { return ""; }
    return field.type === "checkbox" ? (field.checked ? "1" : "") : field.value;
  }
  function wire(panel) {
    if (panel.hasAttribute("data-listen-ready")) { return; }
    panel.setAttribute("data-listen-ready", "");
    var button = panel.querySelector("[data-listen]");
    var audio = panel.querySelector("audio");
    button.addEventListener("click", function () {
      var query = new URLSearchParams({
        phrase: value("phrase"), respelling: value("respelling"), ipa: value("ipa"),
        match_case: value("match_case"), sample: value("sample")
      });
      audio.hidden = false;
      audio.src = panel.getAttribute("data-url") + "?" + query.toString();
      audio.play();
    });
  }
  function wireAll() {
    document.querySelectorAll("[data-listen-panel]").forEach(wire);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", wireAll);
  } else {
    wireAll();
  }
})();
