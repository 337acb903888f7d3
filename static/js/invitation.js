/* The invitation pages: tell the organisers the invitation was opened, once a
   person touches the page. Mail scanners fetch the link (and some run its
   scripts), but they do not press keys, click or scroll a wheel; events a
   script makes are not "trusted" and are ignored. Without JavaScript, pressing
   the page's sign or decline button counts instead. */
(function () {
  "use strict";
  var root = document.querySelector("[data-opened-url]");
  var token = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (!root || !token || !window.fetch) return;
  var events = ["pointerdown", "keydown", "touchstart", "wheel"];

  function opened(event) {
    if (!event.isTrusted) return;
    events.forEach(function (name) {
      document.removeEventListener(name, opened, true);
    });
    fetch(root.dataset.openedUrl, {
      method: "POST",
      headers: { "X-CSRFToken": token.value },
      credentials: "same-origin",
      keepalive: true,
    }).catch(function () {
      /* Only a count for the organisers: nothing to tell the reader. */
    });
  }

  events.forEach(function (name) {
    document.addEventListener(name, opened, { capture: true, passive: true });
  });
})();
