// Kiosk helpers. Every page works without this file; it only improves them:
// an idle reset that discards a half-filled form, a visible selection on
// browsers without CSS :has(), a progress count next to the send button,
// and a live countdown on the thank-you page (whose meta refresh returns to
// the start anyway). No inline script: the CSP forbids it.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  var page = document.querySelector("[data-idle-seconds]");
  var form = document.querySelector("form.rating-form");
  if (page) {
    var idleMs = parseInt(page.getAttribute("data-idle-seconds"), 10) * 1000;
    var startUrl = page.getAttribute("data-start-url");
    var timer = null;
    var reset = function () {
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

  // --- the form: chosen buttons and progress --------------------------------
  var progress = document.querySelector(".send-bar .progress");
  var showProgress = function () {
    if (!progress || !form) { return; }
    var scales = form.querySelectorAll(".scale");
    var answered = form.querySelectorAll(".scale input:checked").length;
    progress.querySelector("progress").value = answered;
    progress.querySelector(".progress-count").textContent = answered + "/" + scales.length;
    progress.hidden = false;
  };
  var markChosen = function (input) {
    document.querySelectorAll('input[name="' + input.name + '"]').forEach(function (other) {
      other.closest("label").classList.toggle("checked", other.checked);
    });
  };
  if (form) {
    form.addEventListener("change", function (event) {
      if (event.target.type === "radio") { markChosen(event.target); }
      showProgress();
    });
    // form.reset() (idle reset, offline queue) unticks the radios: untick the labels too.
    form.addEventListener("reset", function () {
      form.querySelectorAll("label.checked").forEach(function (label) {
        label.classList.remove("checked");
      });
      window.setTimeout(showProgress, 0);
    });
    showProgress();
  }

  var errors = document.getElementById("errors");
  if (errors) { errors.focus(); }

  // --- thank-you: count down to the start -----------------------------------
  var thanks = document.querySelector("[data-return-after]");
  if (thanks) {
    var left = parseInt(thanks.getAttribute("data-return-after"), 10);
    var number = thanks.querySelector("[data-countdown]");
    var sentence = thanks.querySelector(".countdown-text");
    var back = thanks.getAttribute("data-start-url");
    var tick = function () {
      number.textContent = String(left);
      var text = sentence.getAttribute("data-text-" + left);
      if (text) { sentence.textContent = text; }
      if (left <= 0) {
        window.location.replace(back);
        return;
      }
      left -= 1;
      window.setTimeout(tick, 1000);
    };
    thanks.classList.add("counting");
    tick();
  }
})();
