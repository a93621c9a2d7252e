// Service worker of the tokenjudge demo. On install it caches the files listed in
// precache-manifest.json (written by the demo's Vite plugin): the app shell into a cache named
// after the build's version, and the demo model into the model cache that the demo engine reads.
// Requests go to the network first, so an online visit always gets the current files. The caches
// respond only when the network fails.

const SHELL_PREFIX = "tokenjudge-shell-";
// Must equal MODEL_CACHE_NAME in src/app/model-cache.ts.
const MODEL_CACHE = "tokenjudge-models-v1";
const MANIFEST = "precache-manifest.json";

self.addEventListener("install", (event) => {
  event.waitUntil(precache().then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(activate());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || new URL(request.url).origin !== self.location.origin) return;
  // Ranged reads and model files go straight to the network; the engine keeps models in MODEL_CACHE itself.
  if (request.headers.has("range")) return;
  event.respondWith(networkFirst(request));
});

async function precache() {
  const response = await fetch(new URL(MANIFEST, self.registration.scope), { cache: "no-cache" });
  if (!response.ok) throw new Error(`${MANIFEST}: HTTP ${response.status}; the offline cache cannot be built`);
  const manifest = await response.json();

  const shell = await caches.open(SHELL_PREFIX + manifest.version);
  await shell.addAll(manifest.shell.map((path) => new URL(path, self.registration.scope).href));

  // Best effort: the demo page stores the model it downloads in the same cache, and the two
  // writes of one entry can collide (net::ERR_CACHE_WRITE_FAILURE in Chromium). A failure here must
  // not fail the install, because the app shell alone already makes the page load offline.
  const models = await caches.open(MODEL_CACHE);
  for (const path of manifest.models) {
    const url = new URL(path, self.registration.scope).href;
    try {
      if (!(await models.match(url))) await models.add(url);
    } catch (error) {
      console.warn(`tokenjudge service worker: caching ${url} failed (${error.message}); the page caches it when it loads the model`);
    }
  }
  await shell.put(new URL("__version", self.registration.scope).href, new Response(manifest.version));
}

async function activate() {
  // Keep only the newest shell cache: the one this worker just filled.
  const names = await caches.keys();
  const current = await currentShellName(names);
  await Promise.all(names.filter((name) => name.startsWith(SHELL_PREFIX) && name !== current).map((name) => caches.delete(name)));
  await self.clients.claim();
}

async function currentShellName(names) {
  for (const name of names.filter((candidate) => candidate.startsWith(SHELL_PREFIX)).reverse()) {
    const cache = await caches.open(name);
    if (await cache.match(new URL("__version", self.registration.scope).href)) return name;
  }
  return undefined;
}

async function networkFirst(request) {
  try {
    const response = await fetch(request);
    if (response.ok && response.type === "basic" && !request.url.endsWith(".gguf")) {
      const names = await caches.keys();
      const shellName = await currentShellName(names);
      if (shellName) {
        const copy = response.clone();
        caches.open(shellName).then((cache) => cache.put(request, copy)).catch(() => undefined);
      }
    }
    return response;
  } catch (error) {
    // ignoreVary: servers such as `vite preview` send "Vary: Origin", and a module script request
    // carries an Origin header that the precache request did not, so a strict match would miss.
    const options = { ignoreVary: true, ignoreSearch: request.mode === "navigate" };
    const cached = (await caches.match(request, options)) ?? (request.mode === "navigate" ? await caches.match(new URL("./", self.registration.scope).href, options) : undefined);
    if (cached) return cached;
    throw error;
  }
}
