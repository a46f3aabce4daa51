// Ticks the running timer's elapsed time on the Time page. Without JavaScript the page
// shows the start time and the elapsed time when it was loaded; nothing depends on this.
(function () {
  "use strict";
  var clocks = document.querySelectorAll("[data-timer-start]");
  if (!clocks.length) { return; }
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function tick() {
    clocks.forEach(function (el) {
      var started = Date.parse(el.getAttribute("data-timer-start"));
      if (isNaN(started)) { return; }
      var minutes = Math.max(Math.floor((Date.now() - started) / 60000), 0);
      el.textContent = Math.floor(minutes / 60) + ":" + pad(minutes % 60);
    });
  }
  tick();
  window.setInterval(tick, 15000);
})();
