// The desk's "select all on this page" box: ticks every selectable row of the batch form (no inline script: CSP).
document.addEventListener("DOMContentLoaded", function () {
  var all = document.querySelector("[data-select-all]");
  if (!all) return;
  var boxes = function () { return document.querySelectorAll("input[name=items]"); };
  all.hidden = false;
  all.addEventListener("change", function () {
    boxes().forEach(function (box) { box.checked = all.checked; });
  });
  document.addEventListener("change", function (event) {
    if (event.target.name !== "items") return;
    var list = Array.prototype.slice.call(boxes());
    all.checked = list.length > 0 && list.every(function (box) { return box.checked; });
  });
});
