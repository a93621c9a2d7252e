import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";
import { extensionPlugin } from "./extension/build/extension-plugin.js";

const root = fileURLToPath(new URL("./extension/", import.meta.url));

// The Manifest V3 browser extension: `npm run build:extension` writes dist-extension/, which
// Chromium loads unpacked. The popup and the offscreen document are pages. The background
// service worker is a module at the fixed path manifest.json names.
export default defineConfig({
  root,
  base: "/",
  publicDir: false,
  // `webgpu` (Dawn for Node) and `node:` modules are imported only on Node paths, so the
  // extension's bundles leave them out as never-loaded imports.
  worker: { format: "es", rollupOptions: { external: ["webgpu", /^node:/] } },
  // Error classes set `name` from their class name, and the worker boundary rebuilds errors by
  // that name, so minification must keep class names.
  esbuild: { keepNames: true },
  plugins: [extensionPlugin()],
  build: {
    target: "es2022",
    outDir: fileURLToPath(new URL("./dist-extension/", import.meta.url)),
    emptyOutDir: true,
    rollupOptions: {
      external: ["webgpu", /^node:/],
      input: {
        popup: fileURLToPath(new URL("./extension/popup.html", import.meta.url)),
        offscreen: fileURLToPath(new URL("./extension/offscreen.html", import.meta.url)),
        background: fileURLToPath(new URL("./extension/src/background.ts", import.meta.url)),
      },
      output: {
        entryFileNames: (chunk) => (chunk.name === "background" ? "background.js" : "assets/[name]-[hash].js"),
      },
    },
  },
});
