/* The prospect list: the "all on this page" box ticks every row's box, and
   follows them (ticked when all are, half-ticked when some are). Without
   JavaScript the box still works: the page posts the ids it showed, and the
   server takes all of them when the box is ticked. */
(function () {
  "use strict";
  var all = document.querySelector("[data-select-all]");
  if (!all) return;
  var boxes = Array.prototype.slice.call(document.querySelectorAll("[data-select-row]"));

  function follow() {
    var ticked = boxes.filter(function (box) { return box.checked; }).length;
    all.checked = boxes.length > 0 && ticked === boxes.length;
    all.indeterminate = ticked > 0 && ticked < boxes.length;
  }

  all.addEventListener("change", function () {
    boxes.forEach(function (box) { box.checked = all.checked; });
    all.indeterminate = false;
  });
  boxes.forEach(function (box) { box.addEventListener("change", follow); });
  follow();
})();
