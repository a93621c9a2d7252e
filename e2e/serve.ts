// A Vite dev server for the e2e page on 127.0.0.1 (a free port), with the fixture models served
// at /models/<file> with HEAD and single Range requests, as HttpRangeSource reads them.

import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createServer, type Plugin, type ViteDevServer } from "vite";

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Serves GET and HEAD for `/models/<name>.gguf` from `directory`, honouring one `Range: bytes=a-b`. */
async function serveModel(directory: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const name = basename(decodeURIComponent(new URL(request.url ?? "/", "http://127.0.0.1").pathname));
  const path = join(directory, name);
  const size = await stat(path).then(
    (info) => (info.isFile() ? info.size : undefined),
    () => undefined,
  );
  if (!name.endsWith(".gguf") || size === undefined) {
    response.statusCode = 404;
    response.end(`model ${name} not found in ${directory}`);
    return;
  }

  response.setHeader("Accept-Ranges", "bytes");
  response.setHeader("Content-Type", "application/octet-stream");
  const match = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? "");
  let start = 0;
  let end = size - 1;
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
  createReadStream(path, { start, end }).pipe(response);
}

function modelsPlugin(directory: string): Plugin {
  return {
    name: "tokenjudge-e2e-models",
    configureServer(server) {
      server.middlewares.use("/models", (request, response, next) => {
        serveModel(directory, request, response).catch(next);
      });
    },
  };
}

/** Starts the dev server; the page is at `${url}e2e/page/index.html`. */
export async function startE2EServer(modelDirectory: string): Promise<{ server: ViteDevServer; url: string }> {
  const server = await createServer({
    root: REPO_ROOT,
    configFile: join(REPO_ROOT, "vite.config.ts"),
    logLevel: "warn",
    server: { host: "127.0.0.1", port: 0, strictPort: false, hmr: false, watch: null },
    optimizeDeps: { noDiscovery: true, include: ["comlink"] },
    plugins: [modelsPlugin(modelDirectory)],
  });
  await server.listen();
  const url = server.resolvedUrls?.local[0];
  if (!url) {
    await server.close();
    throw new Error("the Vite dev server started without a local URL");
  }
  return { server, url };
}
