// On a phone the sections scroll sideways: bring the current one into view.
(function () {
  "use strict";
  var current = document.querySelector('.member-nav [aria-current="page"]');
  if (!current) return;
  function show() {
    var nav = current.parentNode;
    if (nav.scrollWidth > nav.clientWidth) nav.scrollLeft = current.offsetLeft - 16;
  }
  show();
  window.addEventListener("resize", show);
})();
