/* followups: the little JavaScript the pages need. No inline script anywhere
   (the Content-Security-Policy allows script-src 'self' only); every page works
   without it, this only adds conveniences. */
(function () {
  "use strict";

  // Buttons that need this script (Copy) show only where it runs (app.css: .js-only).
  document.documentElement.classList.add("js");

  // Registration: preselect the browser's time zone.
  function guessTimezone() {
    var select = document.querySelector("select[data-guess-timezone]");
    if (!select) return;
    var zone;
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    } catch (e) {
      return;
    }
    for (var i = 0; i < select.options.length; i++) {
      if (select.options[i].value === zone) {
        select.value = zone;
        return;
      }
    }
  }

  // Settings: copy the calendar link.
  function onCopy(event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var input = document.querySelector(button.getAttribute("data-copy"));
    // The status line next to the button (a draft's), else the page's (the calendar link).
    var near = button.closest(".draft-body");
    var status = (near && near.querySelector("[data-copy-status]")) || document.querySelector("[data-copy-status]");
    function report(ok) {
      if (status) status.textContent = ok ? "Copied." : "Selected: press Ctrl+C (or Cmd+C) to copy.";
    }
    if (!input) return;
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(
        function () { report(true); },
        function () { input.select(); report(false); }
      );
    } else {
      input.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      report(ok);
    }
  }

  // Escape closes an open menu (the snooze choices) and returns focus to it.
  function onKey(event) {
    if (event.key !== "Escape") return;
    var open = event.target.closest("details[open]");
    if (!open) return;
    open.removeAttribute("open");
    var summary = open.querySelector("summary");
    if (summary) summary.focus();
  }

  document.addEventListener("DOMContentLoaded", guessTimezone);
  document.addEventListener("click", onCopy);
  document.addEventListener("keydown", onKey);
})();
