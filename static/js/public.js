/* The public letter page: filter the signer list in place as the visitor types.
   Without JavaScript the search box stays hidden and the full list and A–Z links
   still work. */
(function () {
  "use strict";
  var form = document.querySelector("[data-signer-search]");
  if (!form) return;
  var input = form.querySelector("input[type=search]");
  var status = form.querySelector("[data-search-status]");
  var items = Array.prototype.slice.call(document.querySelectorAll("[data-signer]"));
  var groups = Array.prototype.slice.call(document.querySelectorAll("[data-signer-group]"));

  function fold(text) {
    return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  var texts = items.map(function (item) { return fold(item.textContent); });
  var groupOf = items.map(function (item) { return groups.indexOf(item.closest("[data-signer-group]")); });

  function message(count) {
    if (count === 0) return form.dataset.foundNone;
    if (count === 1) return form.dataset.foundOne;
    return form.dataset.foundMany.replace("{n}", String(count));
  }

  function apply() {
    var query = fold(input.value.trim());
    var shownPerGroup = groups.map(function () { return 0; });
    var shown = 0;
    for (var i = 0; i < items.length; i++) {
      var match = query === "" || texts[i].indexOf(query) !== -1;
      items[i].hidden = !match;
      if (match) {
        shown++;
        shownPerGroup[groupOf[i]]++;
      }
    }
    groups.forEach(function (group, g) { group.hidden = shownPerGroup[g] === 0; });
    status.textContent = query === "" ? "" : message(shown);
  }

  var timer = null;
  input.addEventListener("input", function () {
    window.clearTimeout(timer);
    timer = window.setTimeout(apply, items.length > 2000 ? 150 : 50);
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    apply();
  });
  form.hidden = false;
})();
