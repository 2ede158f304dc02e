// Kiosk helpers. The form works without this file; it only improves it:
// an idle reset that discards a half-filled form, and a visible selection
// on browsers without CSS :has().
(function () {
  "use strict";
  var page = document.querySelector("[data-idle-seconds]");
  if (page) {
    var idleMs = parseInt(page.getAttribute("data-idle-seconds"), 10) * 1000;
    var startUrl = page.getAttribute("data-start-url");
    var timer = null;
    var reset = function () {
      var form = document.querySelector("form.rating-form");
      if (form) { form.reset(); }
      window.location.replace(startUrl);
    };
    var arm = function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(reset, idleMs);
    };
    ["pointerdown", "keydown", "input", "scroll", "touchstart"].forEach(function (name) {
      document.addEventListener(name, arm, { passive: true });
    });
    arm();
    // A page restored from the back/forward cache must not show old answers.
    window.addEventListener("pageshow", function (event) {
      if (event.persisted) { reset(); }
    });
  }
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.type !== "radio") { return; }
    document.querySelectorAll('input[name="' + input.name + '"]').forEach(function (other) {
      other.closest("label").classList.toggle("checked", other.checked);
    });
  });
  var errors = document.getElementById("errors");
  if (errors) { errors.focus(); }
})();
