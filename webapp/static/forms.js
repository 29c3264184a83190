// The error summary of a refused form (templates/_form.html, _macros.html): focus it on arrival so a screen
// reader reads it first, and let each of its links put the cursor in the field it names.
// A file, not inline script: the Content-Security-Policy forbids inline script.
document.addEventListener("DOMContentLoaded", function () {
  var summary = document.querySelector(".form-errors[tabindex]");
  if (!summary) { return; }
  if (document.activeElement !== summary) { summary.focus(); }
  summary.querySelectorAll("a[href^='#']").forEach(function (link) {
    link.addEventListener("click", function (event) {
      var target = document.getElementById(link.getAttribute("href").slice(1));
      if (!target) { return; }
      var input = target.matches("input, select, textarea") ? target : target.querySelector("input, select, textarea");
      event.preventDefault();
      target.scrollIntoView({ block: "center" });
      (input || target).focus();
    });
  });
});
