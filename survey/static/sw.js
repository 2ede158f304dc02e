// Service worker of the kiosk (served at /kiosk/sw.js, scope /kiosk/).
//
// It keeps the app shell — this centre's kiosk pages in every offered
// language, the CSS and JS, the questionnaire JSON — so that a reload while
// the network or the server is down still shows the form. Pages are fetched
// network-first (a fresh page when the server answers, the cached blank one
// when it does not). Submissions never pass through here: offline.js keeps
// them in IndexedDB until the server acknowledges each one.
"use strict";

var CACHE = "hailong-kiosk-v1";
var CACHED_PREFIXES = ["/kiosk/", "/static/", "/api/v1/questionnaires/"];

self.addEventListener("install", function () {
  self.skipWaiting();
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (key) { return key !== CACHE; })
      .map(function (key) { return caches.delete(key); }));
  }).then(function () { return self.clients.claim(); }));
});

function cacheable(url) {
  if (url.origin !== self.location.origin || url.pathname === "/kiosk/sw.js") {
    return false;
  }
  return CACHED_PREFIXES.some(function (prefix) { return url.pathname.indexOf(prefix) === 0; });
}

// Store a successful response under the URL it was asked for. A redirect (a
// centre with one language sends its start page to the form) is kept as a
// redirect, because a followed response may not answer a navigation.
function remember(cache, requestUrl, response) {
  if (!response.ok || response.type !== "basic") { return Promise.resolve(); }
  if (response.redirected && response.url !== requestUrl) {
    return Promise.all([
      cache.put(requestUrl, Response.redirect(response.url, 302)),
      cache.put(response.url, response)
    ]);
  }
  return cache.put(requestUrl, response);
}

function fromCache(request) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(request).then(function (hit) {
      // The same page with another ?channel= is still the right blank form.
      return hit || cache.match(request, { ignoreSearch: true });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET" || !cacheable(new URL(request.url))) { return; }
  event.respondWith(fetch(request).then(function (response) {
    if (response.ok && response.type === "basic") {
      var copy = response.clone();
      event.waitUntil(caches.open(CACHE).then(function (cache) {
        return remember(cache, request.url, copy);
      }));
    }
    return response;
  }).catch(function () {
    return fromCache(request).then(function (hit) { return hit || Response.error(); });
  }));
});

// offline.js names the shell of its centre once the worker is active; the
// answer says how many of those URLs are now cached.
self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type !== "precache" || !Array.isArray(data.urls)) { return; }
  var port = event.ports && event.ports[0];
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return Promise.all(data.urls.map(function (url) {
      var absolute = new URL(url, self.location.origin).href;
      return fetch(absolute, { credentials: "same-origin" }).then(function (response) {
        return remember(cache, absolute, response).then(function () { return response.ok; });
      }).catch(function () { return false; });
    }));
  }).then(function (results) {
    var cached = results.filter(Boolean).length;
    if (port) { port.postMessage({ type: "precached", cached: cached, total: results.length }); }
  }));
});
