import { defineConfig } from "vite";

// The demo app and library build. WGSL shaders are imported as text with `?raw`.
export default defineConfig({
  server: { host: "127.0.0.1" },
  preview: { host: "127.0.0.1" },
  worker: { format: "es" },
  build: { target: "es2022" },
});
