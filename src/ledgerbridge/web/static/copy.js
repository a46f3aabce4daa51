// Copy buttons for read-only fields (Redirect URL, webhook URL). Without JavaScript the
// buttons stay hidden and the read-only inputs can be selected and copied by hand.
(function () {
  "use strict";
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    var input = document.getElementById(button.getAttribute("data-copy"));
    if (!input) { return; }
    var label = button.firstChild.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      input.select();
      var done = function () {
        button.firstChild.textContent = "Copied";
        window.setTimeout(function () { button.firstChild.textContent = label; }, 2000);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
      } else {
        document.execCommand("copy");
        done();
      }
    });
  });
})();
