// Vite plugin for the extension build: writes manifest.json (extension/manifest.json, checked
// against the bundle) and the demo model at models/demo.gguf. The model is the generated
// DEFAULT_DEMO_FIXTURE, made from a fixed seed, so the build needs no download.

import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Plugin, ResolvedConfig } from "vite";
import { DEFAULT_DEMO_FIXTURE, ensureFixture } from "../../src/fixtures/registry.js";

/** Path of the bundled model inside the extension; extension/src/offscreen.ts reads it from there. */
export const EXTENSION_MODEL_PATH = "models/demo.gguf";

const MANIFEST_SOURCE = fileURLToPath(new URL("../manifest.json", import.meta.url));

interface ManifestFields {
  background?: { service_worker?: string };
  action?: { default_popup?: string };
}

/** Creates the plugin. `fixtureDir` overrides where ensureFixture writes the model. */
export function extensionPlugin(options: { fixtureDir?: string } = {}): Plugin {
  let config: ResolvedConfig;

  return {
    name: "tokenjudge-extension",
    // After Vite's own plugins, so generateBundle sees the emitted HTML pages.
    enforce: "post",

    configResolved(resolved) {
      config = resolved;
    },

    async generateBundle(_options, bundle) {
      if (config.command !== "build") return;

      const text = await readFile(MANIFEST_SOURCE, "utf8");
      const manifest = JSON.parse(text) as ManifestFields;
      for (const file of [manifest.background?.service_worker, manifest.action?.default_popup, "offscreen.html"]) {
        if (file !== undefined && !(file in bundle)) {
          this.error(`${MANIFEST_SOURCE} names ${file}, which the build did not write; check the inputs in vite.extension.config.ts`);
        }
      }
      this.emitFile({ type: "asset", fileName: "manifest.json", source: text });

      const model = await ensureFixture(DEFAULT_DEMO_FIXTURE, options.fixtureDir ? { dir: options.fixtureDir } : {});
      this.emitFile({ type: "asset", fileName: EXTENSION_MODEL_PATH, source: await readFile(model) });
    },
  };
}
