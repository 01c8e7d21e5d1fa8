// Logged in: the card works offline (sw.js). Logged out: whatever was kept is forgotten, so the
// next person on this phone sees nothing of the last one.
(function () {
  "use strict";
  if (!("serviceWorker" in navigator)) return;
  var body = document.body;
  if (body.dataset.member === "yes") {
    navigator.serviceWorker.register(body.dataset.worker, { scope: "/me/" });
    var offline = document.getElementById("offline-note");
    if (offline && !navigator.onLine) offline.hidden = false;
  } else {
    if (window.caches) caches.delete("kopilka-card");
    navigator.serviceWorker.getRegistrations().then(function (all) {
      all.forEach(function (registration) { registration.unregister(); });
    });
  }
})();
