// The print bar's button. A file, not an onclick attribute: the Content-Security-Policy forbids inline script.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-action=print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
});
