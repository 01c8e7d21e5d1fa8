// The member's page as an installed app: the card for the till (its page, QR, barcode and the
// styles) is kept from the last visit and shown when there is no network; nothing else is kept.
"use strict";
var CACHE = "kopilka-card";
var KEPT = ["/me/card/", "/me/card/qr.svg", "/me/card/barcode.svg"];

self.addEventListener("install", function () { self.skipWaiting(); });
self.addEventListener("activate", function (event) { event.waitUntil(self.clients.claim()); });

function keptPath(url) {
  return KEPT.indexOf(url.pathname) >= 0 || url.pathname.indexOf("/static/") === 0;
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (keptPath(url)) {
    event.respondWith(fetch(request).then(function (response) {
      if (response.ok && !response.redirected) {  // a redirect to the login is never kept
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) { cache.put(url.pathname, copy); });
      }
      return response;
    }).catch(function () {
      return caches.match(url.pathname).then(function (kept) { return kept || Response.error(); });
    }));
  } else if (request.mode === "navigate" && url.pathname.indexOf("/me/") === 0) {
    event.respondWith(fetch(request).catch(function () {  // offline: the card, if it was seen
      return caches.match("/me/card/").then(function (kept) { return kept || Response.error(); });
    }));
  }
});
