// An htmx request that fails (an error status, or no answer at all) changes
// nothing by itself: say so in the page's error area, and leave the page as it
// was. The Try It console shows its own failures in its result area.
(function () {
  function failed(e) {
    var elt = e.detail.elt;
    if (elt && elt.closest && elt.closest(".console")) return;
    var area = document.getElementById("page-error");
    if (!area) return;
    var xhr = e.detail.xhr;
    area.textContent = xhr && xhr.status
      ? "The portal answered " + xhr.status + " " + (xhr.statusText || "") + ": that part of the page was not updated. Reload the page and try again."
      : "The portal could not be reached: that part of the page was not updated. Check your connection and try again.";
    area.hidden = false;
  }
  document.addEventListener("htmx:responseError", failed);
  document.addEventListener("htmx:sendError", failed);
  document.addEventListener("htmx:afterRequest", function (e) {
    var area = document.getElementById("page-error");
    if (area && e.detail.successful && !(e.detail.elt.closest && e.detail.elt.closest(".console"))) area.hidden = true;
  });
})();
