// 通办's service worker: keeps this release's shell (index.html and the files under static/) so the
// app starts at once and opens without a network. office/pwa.py serves it at /sw.js with RELEASE
// (a hash of every shell file), SHELL (their addresses) and CORE (what starting needs) written in.
// A release that changes any shell file changes these bytes, so the browser installs the new
// worker, which fills a new cache and deletes the old one; the page loads the new release at its
// next navigation (app.js).
//
// Installing fetches only CORE (the start and the login page); the other shell files, page modules
// mostly, are kept the first time a page asks for them. Only the shell is ever cached: API answers
// (/api/…), files (attachments, downloads), the event stream and anything not listed in SHELL
// always go to the network, untouched.

const RELEASE = /*RELEASE*/"dev";
const SHELL = /*SHELL*/[];
const CORE = /*CORE*/[];
const PREFIX = "tongban-shell-";
const CACHE = PREFIX + RELEASE;

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(["/", ...CORE].map((url) => new Request(url, { cache: "reload" })));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
    }
  })());
});

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  const key = request.mode === "navigate" ? (url.pathname === "/" ? "/" : null)
    : (!url.search && SHELL.includes(url.pathname) ? url.pathname : null);
  if (!key) return; // not part of the shell: the browser fetches it as if there were no worker
  event.respondWith(fromShell(request, key));
});

async function fromShell(request, key) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(key);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok && response.type === "basic") await cache.put(key, response.clone());
  return response;
}
