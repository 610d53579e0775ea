// The offline verifier's service worker (served by vaxlink at /verifier/sw.js, which prepends
// VERSION and SHELL). The app shell is served cache first; the trust list and the revocation
// list network first, then from the cache. Nothing else is intercepted.
const SHELL_CACHE = "vaxlink-verifier-shell-" + VERSION;
const LISTS_CACHE = "vaxlink-verifier-lists";
const LISTS = ["/api/v1/certificates/trust-list", "/api/v1/certificates/revocations"];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(SHELL_CACHE)
    .then((cache) => cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" }))))
    .then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((names) => Promise.all(names
      .filter((n) => n.startsWith("vaxlink-verifier-shell-") && n !== SHELL_CACHE)
      .map((n) => caches.delete(n))))
    .then(() => self.clients.claim()));
});

async function networkFirst(request) {
  const cache = await caches.open(LISTS_CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) { await cache.put(request.url.split("?")[0], response.clone()); }
    return response;
  } catch (exc) {
    const cached = await cache.match(request.url.split("?")[0]);
    if (cached) { return cached; }
    throw exc;
  }
}

async function cacheFirst(request, path) {
  const cache = await caches.open(SHELL_CACHE);
  const cached = await cache.match(path);
  return cached || fetch(request);
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) { return; }
  if (LISTS.includes(url.pathname)) {
    event.respondWith(networkFirst(event.request));
  } else if (SHELL.includes(url.pathname)) {
    event.respondWith(cacheFirst(event.request, url.pathname));
  }
});
