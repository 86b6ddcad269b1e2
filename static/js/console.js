// The Try It console's bits of script: the Retry-After countdown of a 429,
// pretty JSON, the copy button, and the focus on the first field in error.
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

  // JSON responses arrive as the escaped text the backend sent; pretty-print
  // and highlight them here, where JSON.parse/stringify are native and fast.
  // Every piece of text is escaped before it goes into the markup.
  function escapeHtml(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }
  var TOKEN = /("(?:[^"\\]|\\.)*")(\s*:)?|(-?\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|\b(true|false|null)\b/g;
  function highlightJson(text) {
    var out = "", last = 0, m;
    TOKEN.lastIndex = 0;
    while ((m = TOKEN.exec(text)) !== null) {
      out += escapeHtml(text.slice(last, m.index));
      if (m[1] !== undefined) {
        out += '<span class="' + (m[2] ? "j-key" : "j-str") + '">' + escapeHtml(m[1]) + "</span>" + (m[2] || "");
      } else if (m[3] !== undefined) {
        out += '<span class="j-num">' + m[3] + "</span>";
      } else {
        out += '<span class="j-lit">' + m[4] + "</span>";
      }
      last = TOKEN.lastIndex;
    }
    return out + escapeHtml(text.slice(last));
  }
  // JSON.stringify(v, null, 2), except that a short array of plain values
  // stays on one line: a row of hashed features reads "[1, 1, 2, 2, 0, 2, 0, 1]".
  function format(value, indent) {
    var pad = indent + "  ";
    if (Array.isArray(value)) {
      if (!value.length) return "[]";
      var plain = value.every(function (x) { return x === null || typeof x !== "object"; });
      var line = plain && "[" + value.map(function (x) { return JSON.stringify(x); }).join(", ") + "]";
      if (line && line.length + indent.length <= 100) return line;
      return "[\n" + value.map(function (x) { return pad + format(x, pad); }).join(",\n") + "\n" + indent + "]";
    }
    if (value !== null && typeof value === "object") {
      var keys = Object.keys(value);
      if (!keys.length) return "{}";
      return "{\n" + keys.map(function (k) { return pad + JSON.stringify(k) + ": " + format(value[k], pad); }).join(",\n") + "\n" + indent + "}";
    }
    return JSON.stringify(value);
  }
  function pretty(root) {
    var blocks = Array.prototype.slice.call(root.querySelectorAll('pre[data-pretty="json"]'));
    if (root.matches && root.matches('pre[data-pretty="json"]')) blocks.push(root);
    blocks.forEach(function (pre) {
      pre.removeAttribute("data-pretty");
      var text = pre.textContent;
      try {
        // JSON.parse would round integers past 2^53: keep such text as it came.
        var shown = /\d{16,}/.test(text) ? text : format(JSON.parse(text), "");
        pre.innerHTML = highlightJson(shown);
      } catch (e) { /* not JSON after all: leave the text as it is */ }
    });
  }
  // A console request that fails on the way (network down, server error) would
  // otherwise change nothing on the page: say so where the answer would go.
  function failed(e) {
    var console_ = e.detail.elt && e.detail.elt.closest && e.detail.elt.closest(".console");
    var result = console_ && console_.querySelector(".console-result");
    if (!result) return;
    var p = document.createElement("p");
    p.className = "notice error";
    p.setAttribute("role", "alert");
    var xhr = e.detail.xhr;
    p.textContent = xhr && xhr.status
      ? "The portal answered " + xhr.status + " " + (xhr.statusText || "") + ". Reload the page and try again."
      : "The portal could not be reached. Check your connection and try again.";
    result.replaceChildren(p);
  }
  // A body over the gateway's limit is refused here, next to the field,
  // before anything is sent: the portal would only refuse it too.
  var encoder = new TextEncoder();
  function tooLarge(e) {
    // The requests that carry the form: its own, and the preview's (which includes it).
    var elt = e.detail.elt;
    var carries = elt && elt.closest && (elt.closest(".console-form") || elt.closest(".console-preview"));
    var console_ = carries && elt.closest(".console");
    var body = console_ && console_.querySelector(".console-form textarea[data-max-bytes]");
    if (!body) return;
    var error = document.getElementById(body.getAttribute("aria-describedby"));
    var limit = parseInt(body.getAttribute("data-max-bytes"), 10);
    var size = encoder.encode(body.value).length;
    if (size <= limit) {
      if (error && error.hasAttribute("data-client")) { error.hidden = true; error.removeAttribute("data-client"); }
      return;
    }
    e.preventDefault();
    if (!error) return;
    error.firstElementChild.textContent = "The body is " + size.toLocaleString("en") + " bytes; the gateway accepts at most " +
      limit.toLocaleString("en") + " bytes. Nothing was sent.";
    error.hidden = false;
    error.setAttribute("data-client", "1");
    error.setAttribute("role", "alert");
  }
  document.addEventListener("htmx:beforeRequest", tooLarge);
  // Copy the code shown (as rendered: secrets stay masked unless revealed).
  function copy(button) {
    var source = document.querySelector(button.getAttribute("data-copy"));
    var status = document.getElementById(button.getAttribute("aria-describedby"));
    if (!source) return;
    var say = function (text) { if (status) status.textContent = text; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(source.textContent).then(function () { say("Copied."); }, function () { say("Select the code and copy it by hand."); });
    } else {
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      say(document.execCommand("copy") ? "Copied." : "Selected: copy it with your keyboard.");
    }
  }
  document.addEventListener("click", function (e) {
    var button = e.target.closest && e.target.closest("button[data-copy]");
    if (button) copy(button);
  });
  // After the form comes back: with errors, bring the first one into view and
  // focus its field; in any case refresh the preview and the code next to it.
  function formBack(form) {
    var field = form.querySelector(".error input, .error select, .error textarea");
    if (field) {
      field.scrollIntoView({block: "center"});
      field.focus({preventScroll: true});
    } else if (form.querySelector(".error-summary")) {
      form.querySelector(".error-summary").focus();
    }
    form.dispatchEvent(new Event("change", {bubbles: true}));
  }
  document.addEventListener("htmx:load", function (e) {
    if (e.target.matches && e.target.matches("form.console-form")) formBack(e.target);
  });
  document.addEventListener("htmx:responseError", failed);
  document.addEventListener("htmx:sendError", failed);
  document.addEventListener("DOMContentLoaded", function () { start(document); pretty(document); });
  document.addEventListener("htmx:load", function (e) { start(e.target); pretty(e.target); });
})();
