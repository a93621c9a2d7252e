// Registers the service worker (public/sw.js) that keeps the app shell and the demo model for
// offline visits. Only production builds register it: in `vite` dev the module graph changes on
// every edit, and a cached copy would hide those changes.

/** Registers sw.js next to the page; does nothing in dev or where service workers are missing. */
export function registerServiceWorker(): void {
  if (!import.meta.env.PROD || !("serviceWorker" in navigator)) return;
  const url = new URL("sw.js", document.baseURI);
  navigator.serviceWorker.register(url, { scope: new URL("./", url).pathname }).catch((error: unknown) => {
    // The page works without offline support, so a failed registration is only logged.
    console.warn(`tokenjudge: service worker registration failed (${(error as Error).message}); the page will not work offline`);
  });
}
