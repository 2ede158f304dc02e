// Offline-first kiosk submissions.
//
// With IndexedDB available, a rating is not posted as a page: it is written
// to a durable queue in the browser, keyed by its client-generated
// submission id, and the citizen sees the thank-you page at once. The queue
// is sent to POST /api/v1/responses and an entry leaves the queue only when
// the server acknowledges it (201 created, 200 already stored). Network
// errors, 429 and 5xx are retried with exponential backoff; a definitive
// refusal (other 4xx) moves the entry to a "rejected" store on the device,
// never to nowhere. Without JavaScript, IndexedDB or this file the form
// posts normally. The service worker (sw.js) keeps the pages for reloads
// while offline. All data comes from data-* attributes (no inline script).
(function () {
  "use strict";
  var state = document.getElementById("sync-state");
  if (!state || !window.indexedDB || !window.fetch || !window.Promise || !window.JSON) {
    return;
  }
  var form = document.querySelector("form.rating-form");
  var manifestUrl = state.getAttribute("data-manifest");
  var language = state.getAttribute("data-language") || document.documentElement.lang;
  var DB_NAME = "hailong-kiosk";
  var RETRY_MIN_MS = 1000;
  var RETRY_MAX_MS = 30000;
  var HEARTBEAT_MS = 60000;
  var manifest = null;
  var flushing = false;
  var failures = 0;
  var retryTimer = null;
  var startedAt = null;

  function uuid4() {
    if (window.crypto && window.crypto.randomUUID) { return window.crypto.randomUUID(); }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 0x100).toString(16).slice(1);
    }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" +
      hex.slice(16, 20) + "-" + hex.slice(20);
  }

  function stored(key, make) {
    try {
      var value = window.localStorage.getItem(key);
      if (!value && make) { value = make(); window.localStorage.setItem(key, value); }
      return value;
    } catch (e) { return make ? make() : null; }
  }

  // --- IndexedDB -----------------------------------------------------------
  var dbPromise = new Promise(function (resolve, reject) {
    var open = window.indexedDB.open(DB_NAME, 1);
    open.onupgradeneeded = function () {
      open.result.createObjectStore("queue", { keyPath: "submission_id" });
      open.result.createObjectStore("rejected", { keyPath: "submission_id" });
    };
    open.onsuccess = function () { resolve(open.result); };
    open.onerror = function () { reject(open.error); };
  });

  function transact(stores, mode, work) {
    return dbPromise.then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(stores, mode);
        var result = work(tx);
        // Resolved only once the transaction is durable, never before.
        tx.oncomplete = function () { resolve(result && result.result); };
        tx.onerror = function () { reject(tx.error); };
        tx.onabort = function () { reject(tx.error); };
      });
    });
  }

  function enqueue(entry) {
    return transact(["queue"], "readwrite", function (tx) {
      return tx.objectStore("queue").put(entry);
    });
  }
  function queued() {
    return transact(["queue"], "readonly", function (tx) {
      return tx.objectStore("queue").getAll();
    });
  }
  function acknowledged(id) {
    return transact(["queue"], "readwrite", function (tx) {
      return tx.objectStore("queue").delete(id);
    });
  }
  function reject(entry, status, body) {
    return transact(["queue", "rejected"], "readwrite", function (tx) {
      entry.status = status;
      entry.answer = body;
      tx.objectStore("rejected").put(entry);
      return tx.objectStore("queue").delete(entry.submission_id);
    });
  }

  // --- sync state ------------------------------------------------------------
  function show(count) {
    state.setAttribute("data-queued", String(count));
    if (count === 0) {
      state.hidden = true;
      state.textContent = "";
      return;
    }
    var template = state.getAttribute(count === 1 ? "data-waiting-one" : "data-waiting-other");
    state.textContent = template.replace("{n}", String(count));
    state.hidden = false;
  }

  function heartbeat(count) {
    if (!manifest) { return Promise.resolve(); }
    return transact(["rejected"], "readonly", function (tx) {
      return tx.objectStore("rejected").count();
    }).then(function (rejected) {
      return fetch(manifest.heartbeat, {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          kiosk: stored("hailong-kiosk-id", uuid4),
          centre: manifest.centre,
          queued: count,
          rejected: rejected,
          last_sync_at: stored("hailong-last-sync"),
          sent_at: new Date().toISOString()
        }),
        credentials: "omit"
      });
    }).catch(function () { return null; });
  }

  function scheduleRetry() {
    window.clearTimeout(retryTimer);
    failures += 1;
    var delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * Math.pow(2, failures - 1));
    delay = delay / 2 + Math.random() * delay / 2;  // jitter: kiosks do not retry in step
    retryTimer = window.setTimeout(flush, delay);
  }

  function send(entry) {
    // sent_at: this device's clock now; the server moves the rating's times by
    // its own clock's difference, so a kiosk whose clock is wrong still dates
    // its ratings right, however long they waited in the queue.
    var body = Object.assign({}, entry.payload, { sent_at: new Date().toISOString() });
    return fetch(manifest.submit, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Kiosk-Id": stored("hailong-kiosk-id", uuid4) },
      body: JSON.stringify(body),
      credentials: "omit"
    }).then(function (response) {
      if (response.status === 200 || response.status === 201) {
        return acknowledged(entry.submission_id).then(function () { return true; });
      }
      if (response.status === 429 || response.status >= 500) { return false; }
      return response.text().then(function (text) {
        return reject(entry, response.status, text);
      }).then(function () { return true; });
    }, function () { return false; });
  }

  function flush() {
    if (flushing || !manifest) { return Promise.resolve(); }
    flushing = true;
    window.clearTimeout(retryTimer);
    return queued().then(function (entries) {
      entries.sort(function (a, b) { return a.queued_at < b.queued_at ? -1 : 1; });
      var next = function (i) {
        if (i >= entries.length) { return Promise.resolve(true); }
        return send(entries[i]).then(function (ok) { return ok ? next(i + 1) : false; });
      };
      return next(0);
    }).then(function (allSent) {
      if (allSent) {
        failures = 0;
        try {
          window.localStorage.setItem("hailong-last-sync", new Date().toISOString());
        } catch (e) { /* storage disabled: the heartbeat then reports no sync time */ }
      } else {
        scheduleRetry();
      }
      return queued();
    }).then(function (entries) {
      show(entries.length);
      return heartbeat(entries.length);
    }).catch(function () {
      scheduleRetry();
    }).then(function () { flushing = false; });
  }

  // --- the form -------------------------------------------------------------
  function payloadOf(formElement) {
    var data = new FormData(formElement);
    var answers = {};
    manifest.rating.forEach(function (code) {
      var value = data.get("item_" + code);
      answers[code] = value && /^[0-9]+$/.test(value) ? parseInt(value, 10) : null;
    });
    var demographics = {};
    manifest.demographics.forEach(function (code) {
      demographics[code] = data.get("item_" + code) || null;
    });
    return {
      submission_id: formElement.elements.submission_id.value,
      centre: manifest.centre,
      questionnaire: manifest.questionnaire,
      version: manifest.version,
      language: language,
      channel: formElement.elements.channel.value || "kiosk",
      started_at: startedAt || new Date().toISOString(),
      submitted_at: new Date().toISOString(),
      answers: answers,
      demographics: demographics,
      comment: manifest.comment ? (data.get("comment") || null) : null
    };
  }

  function complete(payload) {
    // Incomplete forms take the plain path, where the server explains what is missing.
    // The server counts characters after NFC normalisation, as here.
    var comment = payload.comment ? payload.comment.normalize("NFC").trim() : "";
    return manifest.required.every(function (code) { return payload.answers[code] !== null; }) &&
      Object.keys(payload.answers).some(function (code) { return payload.answers[code] !== null; }) &&
      comment.length <= (manifest.comment_max || 0);
  }

  function fresh() {
    // A page may come from the service worker's cache: never reuse its id.
    form.elements.submission_id.value = uuid4();
    startedAt = null;
  }

  if (form) {
    fresh();
    form.addEventListener("change", function () {
      if (!startedAt) { startedAt = new Date().toISOString(); }
    });
    form.addEventListener("submit", function (event) {
      if (!manifest) { return; }
      var payload = payloadOf(form);
      if (!complete(payload)) { return; }
      event.preventDefault();
      var entry = { submission_id: payload.submission_id, payload: payload,
                    queued_at: new Date().toISOString() };
      enqueue(entry).then(function () {
        fresh();
        form.reset();
        window.location.assign(manifest.thanks[language] || manifest.thanks[Object.keys(manifest.thanks)[0]]);
      }, function () {
        form.submit();  // IndexedDB refused the write: post the page instead
      });
    });
  }

  function precache() {
    if (!("serviceWorker" in navigator)) { return; }
    navigator.serviceWorker.register(state.getAttribute("data-worker")).then(function () {
      return navigator.serviceWorker.ready;
    }).then(function (registration) {
      var channel = new MessageChannel();
      channel.port1.onmessage = function (event) {
        var data = event.data || {};
        state.setAttribute("data-offline-ready", data.cached === data.total ? "yes" : "partial");
      };
      registration.active.postMessage({ type: "precache", urls: manifest.shell }, [channel.port2]);
    }).catch(function () { state.setAttribute("data-offline-ready", "no"); });
  }

  fetch(manifestUrl, { credentials: "same-origin" }).then(function (response) {
    if (!response.ok) { throw new Error("manifest " + response.status); }
    return response.json();
  }).then(function (loaded) {
    manifest = loaded;
    precache();
    window.addEventListener("online", flush);
    window.setInterval(flush, HEARTBEAT_MS);
    return flush();
  }).catch(function () {
    queued().then(function (entries) { show(entries.length); });
  });
})();
