{% autoescape off %}// The grid worker app's service worker (scope {{ scope }}). It keeps the app shell and its static
// files in a versioned cache and answers them cache-first, so the app opens without a signal; the
// shell is refreshed in the background whenever there is one. API calls are not touched: they go to
// the network, and the app's own outbox deals with being offline.
"use strict";

const VERSION = {{ version }};
const CACHE = "zhiwang-field-" + VERSION;
const SHELL = {{ shell }};
const PRECACHE = {{ precache }};
const PRECACHED = new Set(PRECACHE);

async function fetchFresh(url) {
  const response = await fetch(new Request(url, { cache: "reload", credentials: "same-origin" }));
  // A signed-out shell request ends on the sign-in page: never keep that as the shell.
  if (!response.ok || response.redirected) {
    throw new Error("cannot precache " + url + ": " + response.status);
  }
  return response;
}

async function precache() {
  const cache = await caches.open(CACHE);
  await Promise.all(PRECACHE.map(async (url) => cache.put(url, await fetchFresh(url))));
}

async function dropOldCaches() {
  const names = await caches.keys();
  await Promise.all(names.filter((name) => name.startsWith("zhiwang-field-") && name !== CACHE).map((name) => caches.delete(name)));
}

async function refreshShell() {
  try {
    const cache = await caches.open(CACHE);
    await cache.put(SHELL, await fetchFresh(SHELL));
  } catch (error) {
    // No signal or signed out: keep the shell we have.
  }
}

async function cacheFirst(url, event) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(url);
  if (cached) {
    if (url === SHELL) {
      event.waitUntil(refreshShell());
    }
    return cached;
  }
  return fetch(event.request);
}

self.addEventListener("install", (event) => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(dropOldCaches().then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) {
    return;
  }
  if (request.mode === "navigate" && url.pathname === SHELL) {
    event.respondWith(cacheFirst(SHELL, event));
    return;
  }
  if (PRECACHED.has(url.pathname) && url.pathname !== SHELL) {
    event.respondWith(cacheFirst(url.pathname, event));
  }
  // Everything else, the API above all, goes to the network untouched.
});

self.addEventListener("message", (event) => {
  if (event.data && event.data.type === "refresh-shell") {
    event.waitUntil(refreshShell().then(() => event.ports[0] && event.ports[0].postMessage("done")));
  }
});
{% endautoescape %}
