// 单位注册: the parent list offers only orgs that may parent the chosen type (each option's data-for lists
// the types it may parent; webapp/orgs/routes.py _parent_choices). A file: the CSP forbids inline script.
document.addEventListener("DOMContentLoaded", function () {
  var type = document.getElementById("org_type");
  var parent = document.getElementById("parent_id");
  if (!type || !parent) { return; }
  function offer() {
    Array.prototype.forEach.call(parent.options, function (option) {
      var kinds = option.getAttribute("data-for");
      if (kinds === null) { return; }  // the "请选择" placeholder
      var fits = kinds.split(" ").indexOf(type.value) >= 0;
      option.hidden = !fits;
      option.disabled = !fits;
      if (!fits && option.selected) { parent.value = ""; }
    });
  }
  type.addEventListener("change", offer);
  offer();
});
