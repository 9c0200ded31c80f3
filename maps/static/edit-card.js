/* The printable station card (card.html): the print button. No inline handler (CSP). */
(function () {
  "use strict";
  var button = document.getElementById("card-print");
  if (button) button.addEventListener("click", function () { window.print(); });
})();
