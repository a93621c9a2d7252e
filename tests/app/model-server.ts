// A static file server for the browser tests on 127.0.0.1, on a free port. It serves the files it
// is given at fixed paths with CORS allowed, so a page on another port can fetch models and adapters.

import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface FileServer {
  /** Origin with a trailing slash, such as "http://127.0.0.1:41234/". */
  url: string;
  /** Paths of every request received, in order. */
  requests: string[];
  close(): Promise<void>;
}

/** Serves `files` (URL path such as "/models/demo.gguf" to file path) for GET and HEAD. Other paths and methods get 404. */
export async function startFileServer(files: Record<string, string>): Promise<FileServer> {
  const requests: string[] = [];

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = new URL(request.url ?? "/", "http://127.0.0.1").pathname;
    requests.push(path);
    response.setHeader("Access-Control-Allow-Origin", "*");

    const file = files[path];
    const size = file === undefined ? undefined : (await stat(file)).size;
    if (file === undefined || size === undefined || (request.method !== "GET" && request.method !== "HEAD")) {
      response.statusCode = 404;
      response.end(`${request.method} ${path}: not served by the test file server`);
      return;
    }

    response.setHeader("Content-Type", "application/octet-stream");
    response.setHeader("Content-Length", String(size));
    if (request.method === "HEAD") {
      response.end();
      return;
    }
    createReadStream(file).pipe(response);
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      response.statusCode = 500;
      response.end(`the test file server failed: ${(error as Error).message}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });

  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
