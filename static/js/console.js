// The Try It console's one bit of script: the Retry-After countdown of a 429.
// Everything else is htmx and server-rendered fragments.
(function () {
  if (window.porticoConsole) return;
  window.porticoConsole = true;
  function start(root) {
    var boxes = Array.prototype.slice.call(root.querySelectorAll("[data-retry-after]:not([data-ticking])"));
    if (root.matches && root.matches("[data-retry-after]:not([data-ticking])")) boxes.push(root);
    boxes.forEach(function (box) {
      box.setAttribute("data-ticking", "1");
      var left = parseInt(box.getAttribute("data-retry-after"), 10) || 0;
      var shown = box.querySelector(".countdown");
      var timer = setInterval(function () {
        left -= 1;
        if (!document.body.contains(box)) return clearInterval(timer);
        if (left <= 0) {
          clearInterval(timer);
          box.textContent = "You can call again now.";
          return;
        }
        shown.textContent = left;
      }, 1000);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { start(document); });
  document.addEventListener("htmx:load", function (e) { start(e.target); });
})();
