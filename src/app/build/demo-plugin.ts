// Vite plugin for the demo app: generates the demo model from its fixed seed (ensureFixture) and
// serves it at /models/demo.gguf in dev, copies it to dist/models/demo.gguf in a build, and writes
// precache-manifest.json, the list of files the service worker (public/sw.js) caches on install.

import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, readdir, stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join, relative, resolve, sep } from "node:path";
import type { Plugin, ResolvedConfig } from "vite";
import { DEFAULT_DEMO_FIXTURE, ensureFixture, FIXTURES } from "../../fixtures/registry.js";
import { FIXTURE_GENERATOR_VERSION } from "../../fixtures/spec.js";

/** Path of the demo model under the site root, without a leading slash. */
export const DEMO_MODEL_PATH = "models/demo.gguf";

/**
 * Version of the demo model: a short SHA-256 of the generator version and the fixture definition.
 * The page requests `models/demo.gguf?v=VERSION`, so a regenerated model gets a new cache key
 * instead of a stale cached copy.
 */
export function demoModelVersion(): string {
  const text = JSON.stringify({ generator: FIXTURE_GENERATOR_VERSION, definition: FIXTURES[DEFAULT_DEMO_FIXTURE] });
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

/** Path of the service worker's precache list under the site root. */
export const PRECACHE_MANIFEST_PATH = "precache-manifest.json";

/** The precache list: site-relative paths, with "./" for the entry page. */
export interface PrecacheManifest {
  /** Changes whenever a listed file changes, so the service worker can tell builds apart. */
  version: string;
  shell: string[];
  models: string[];
}

/** Creates the plugin. `fixtureDir` overrides where ensureFixture writes the model. */
export function demoAppPlugin(options: { fixtureDir?: string } = {}): Plugin {
  let config: ResolvedConfig;
  const demoModel = (): Promise<string> => ensureFixture(DEFAULT_DEMO_FIXTURE, options.fixtureDir ? { dir: options.fixtureDir } : {});
  const versionedModelPath = `${DEMO_MODEL_PATH}?v=${demoModelVersion()}`;

  return {
    name: "tokenjudge-demo-app",
    // After Vite's own plugins, so generateBundle sees the emitted HTML pages.
    enforce: "post",

    config() {
      return { define: { "import.meta.env.VITE_DEMO_MODEL_VERSION": JSON.stringify(demoModelVersion()) } };
    },

    configResolved(resolved) {
      config = resolved;
    },

    configureServer(server) {
      server.middlewares.use((request, response, next) => {
        const path = new URL(request.url ?? "/", "http://127.0.0.1").pathname;
        if (path === `${config.base}${DEMO_MODEL_PATH}`) {
          demoModel()
            .then((file) => sendFile(file, request, response))
            .catch(next);
          return;
        }
        if (path === `${config.base}${PRECACHE_MANIFEST_PATH}`) {
          // In dev the module graph is not known up front, so only the page and the model are
          // precached; the service worker caches modules as the page fetches them.
          const manifest: PrecacheManifest = { version: "dev", shell: ["./"], models: [versionedModelPath] };
          response.setHeader("Content-Type", "application/json");
          response.setHeader("Cache-Control", "no-cache");
          response.end(JSON.stringify(manifest));
          return;
        }
        next();
      });
    },

    configurePreviewServer(server) {
      // Registered here, ahead of the preview server's compression middleware, so the model goes
      // out as stored with a Content-Length instead of being compressed on the fly.
      server.middlewares.use((request, response, next) => {
        const path = new URL(request.url ?? "/", "http://127.0.0.1").pathname;
        if (path !== `${config.base}${DEMO_MODEL_PATH}`) {
          next();
          return;
        }
        sendFile(resolve(config.root, config.build.outDir, DEMO_MODEL_PATH), request, response).catch(next);
      });
    },

    async generateBundle(_options, bundle) {
      if (config.command !== "build") return;
      const model = await readFile(await demoModel());
      this.emitFile({ type: "asset", fileName: DEMO_MODEL_PATH, source: model });

      // Hashed bundle files plus the public folder, except the service worker itself.
      const publicFiles = config.publicDir ? await listFiles(config.publicDir) : [];
      const shell = ["./", ...Object.keys(bundle), ...publicFiles].filter((file) => file !== "index.html" && file !== "sw.js" && !file.endsWith(".gguf"));
      const unique = [...new Set(shell)].sort();
      const version = await versionOf(unique, model.byteLength);
      const manifest: PrecacheManifest = { version, shell: unique, models: [versionedModelPath] };
      this.emitFile({ type: "asset", fileName: PRECACHE_MANIFEST_PATH, source: JSON.stringify(manifest, null, 2) });
    },
  };
}

/** Sends `file` for GET and HEAD, honouring one `Range: bytes=a-b` request. */
async function sendFile(file: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const size = (await stat(file)).size;
  response.setHeader("Accept-Ranges", "bytes");
  response.setHeader("Content-Type", "application/octet-stream");

  let start = 0;
  let end = size - 1;
  const match = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? "");
  if (match) {
    start = Number(match[1]);
    end = match[2] ? Math.min(Number(match[2]), size - 1) : size - 1;
    if (start > end) {
      response.statusCode = 416;
      response.setHeader("Content-Range", `bytes */${size}`);
      response.end();
      return;
    }
    response.statusCode = 206;
    response.setHeader("Content-Range", `bytes ${start}-${end}/${size}`);
  }
  response.setHeader("Content-Length", String(end - start + 1));
  if (request.method === "HEAD") {
    response.end();
    return;
  }
  createReadStream(file, { start, end }).pipe(response);
}

async function listFiles(root: string): Promise<string[]> {
  const found: string[] = [];
  const walk = async (folder: string): Promise<void> => {
    const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) found.push(relative(root, path).split(sep).join("/"));
    }
  };
  await walk(root);
  return found;
}

/** A short SHA-256 of the file list and the model size; bundle names already carry content hashes. */
async function versionOf(files: string[], modelBytes: number): Promise<string> {
  const text = `${files.join("\n")}\n${modelBytes}`;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest).slice(0, 8), (byte) => byte.toString(16).padStart(2, "0")).join("");
}
