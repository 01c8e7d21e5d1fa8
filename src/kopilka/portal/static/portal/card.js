// The digital card's QR code: fetched again every 30 seconds (its token lasts a minute or two).
(function () {
  "use strict";
  var img = document.getElementById("card-qr");
  if (!img) return;
  setInterval(function () {
    img.src = img.dataset.src + "?t=" + Date.now();
  }, 30000);
})();
