// The only script of the page: a print button on the profile (the page prints on A4 with or without it).
(function () {
  var button = document.getElementById("print-button");
  if (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  }
})();
