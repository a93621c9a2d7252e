import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";
import { demoAppPlugin } from "./src/app/build/demo-plugin.js";

// The demo app and library build. WGSL shaders are imported as text with `?raw`.
export default defineConfig({
  server: { host: "127.0.0.1" },
  preview: { host: "127.0.0.1" },
  // `webgpu` (Dawn for Node) and `node:` modules are imported only on Node paths (src/gpu/device.ts,
  // src/io/node-file.ts), so browser bundles leave them out as never-loaded chunks.
  worker: { format: "es", rollupOptions: { external: ["webgpu", /^node:/] } },
  // Error classes set `name` from their class name, and the worker boundary rebuilds errors by
  // that name, so minification must keep class names (the page and worker bundles differ otherwise).
  esbuild: { keepNames: true },
  // The demo app: generates the demo model and the service worker's precache list.
  plugins: [demoAppPlugin()],
  build: {
    target: "es2022",
    // The demo page and the chat guardrail example page.
    rollupOptions: {
      external: ["webgpu", /^node:/],
      input: {
        main: fileURLToPath(new URL("./index.html", import.meta.url)),
        guardrail: fileURLToPath(new URL("./examples/chat-guardrail/index.html", import.meta.url)),
      },
    },
  },
});
