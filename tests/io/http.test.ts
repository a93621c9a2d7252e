// HttpRangeSource against a local HTTP server on 127.0.0.1 that imitates well-behaved and broken
// servers, one behaviour per path.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { AbortError, IOError } from "../../src/errors.js";
import { meta } from "../../src/gguf/metadata.js";
import { GGUFFile } from "../../src/gguf/reader.js";
import { GGMLType } from "../../src/gguf/types.js";
import { writeGGUF } from "../../src/gguf/writer.js";
import { HttpRangeSource } from "../../src/io/http.js";
import { expectRejects } from "../gguf/helpers.js";

const MODEL = writeGGUF({
  metadata: { "general.architecture": meta.str("llama"), "tokenizer.ggml.tokens": meta.strArray(["<s>", "a", "b"]) },
  tensors: [{ name: "w", dims: [4, 2], type: GGMLType.F32, data: new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]).buffer) }],
});

let server: Server;
let baseUrl: string;
const requests: { method: string; path: string; range?: string }[] = [];
let etagCounter = 0;

function sendRange(request: IncomingMessage, response: ServerResponse, options: { etag?: string; shortBody?: boolean } = {}): void {
  if (options.etag) response.setHeader("ETag", options.etag);
  response.setHeader("Accept-Ranges", "bytes");

  if (request.method === "HEAD") {
    response.setHeader("Content-Length", MODEL.length);
    response.end();
    return;
  }

  const match = request.headers.range?.match(/^bytes=(\d+)-(\d+)$/);
  if (!match) {
    response.setHeader("Content-Length", MODEL.length);
    response.end(MODEL);
    return;
  }

  const start = Number(match[1]);
  const end = Math.min(Number(match[2]), MODEL.length - 1);
  if (start >= MODEL.length) {
    response.writeHead(416, { "Content-Range": `bytes */${MODEL.length}` }).end();
    return;
  }
  const body = MODEL.subarray(start, end + 1);
  response.writeHead(206, { "Content-Range": `bytes ${start}-${end}/${MODEL.length}` });
  response.end(options.shortBody ? body.subarray(0, Math.max(0, body.length - 1)) : body);
}

function handle(request: IncomingMessage, response: ServerResponse): void {
  const path = request.url ?? "/";
  requests.push({ method: request.method ?? "GET", path, range: request.headers.range });

  switch (path) {
    case "/model.gguf":
      return sendRange(request, response, { etag: '"v1"' });
    case "/no-head/model.gguf":
      if (request.method === "HEAD") return void response.writeHead(405).end();
      return sendRange(request, response);
    case "/ignores-range/model.gguf":
      response.setHeader("Content-Length", MODEL.length);
      return void response.end(request.method === "HEAD" ? undefined : MODEL);
    case "/short-body/model.gguf":
      return sendRange(request, response, { shortBody: true });
    case "/changing/model.gguf":
      etagCounter++;
      return sendRange(request, response, { etag: `"v${etagCounter}"` });
    default:
      response.writeHead(404).end("not found");
  }
}

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe("HttpRangeSource", () => {
  it("opens with HEAD and reads ranges", async () => {
    requests.length = 0;
    const source = await HttpRangeSource.open(`${baseUrl}/model.gguf`);
    expect(source.size).toBe(MODEL.length);
    expect(requests).toEqual([{ method: "HEAD", path: "/model.gguf", range: undefined }]);

    expect(await source.read(5, 20)).toEqual(MODEL.subarray(5, 25));
    expect(requests[1]).toEqual({ method: "GET", path: "/model.gguf", range: "bytes=5-24" });
    expect(await source.read(0, MODEL.length)).toEqual(MODEL);
    expect(await source.read(7, 0)).toEqual(new Uint8Array(0));
  });

  it("parses a GGUF file over HTTP", async () => {
    const source = await HttpRangeSource.open(`${baseUrl}/model.gguf`);
    const file = await GGUFFile.open(source);
    expect(file.architecture).toBe("llama");
    expect(Array.from(await file.readTensorF32("w"))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("falls back to a ranged GET when HEAD fails", async () => {
    requests.length = 0;
    const source = await HttpRangeSource.open(`${baseUrl}/no-head/model.gguf`);
    expect(source.size).toBe(MODEL.length);
    expect(requests.map((r) => `${r.method} ${r.range ?? ""}`)).toEqual(["HEAD ", "GET bytes=0-0"]);
    expect(await source.read(100, 8)).toEqual(MODEL.subarray(100, 108));
  });

  it("rejects a server that ignores Range", async () => {
    await expectRejects(HttpRangeSource.open(`${baseUrl}/ignores-range/model.gguf`), IOError, "IO_FAILED", [
      "/ignores-range/model.gguf",
      "ignored the Range header",
      "HTTP 200",
    ]);
  });

  it("rejects a missing resource", async () => {
    await expectRejects(HttpRangeSource.open(`${baseUrl}/absent.gguf`), IOError, "IO_FAILED", ["/absent.gguf", "404"]);
  });

  it("rejects a short body", async () => {
    const source = await HttpRangeSource.open(`${baseUrl}/short-body/model.gguf`);
    await expectRejects(source.read(10, 50), IOError, "IO_FAILED", ["bytes=10-59", "returned 49 bytes, expected 50"]);
  });

  it("rejects a resource that changed", async () => {
    const source = await HttpRangeSource.open(`${baseUrl}/changing/model.gguf`);
    await expectRejects(source.read(0, 4), IOError, "IO_FAILED", ["changed", '"v1"', '"v2"']);
  });

  it("rejects reads outside the resource", async () => {
    const source = await HttpRangeSource.open(`${baseUrl}/model.gguf`);
    await expectRejects(source.read(MODEL.length - 2, 4), IOError, "IO_FAILED", ["past the end"]);
  });

  it("reports a refused connection", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));

    await expectRejects(HttpRangeSource.open(`http://127.0.0.1:${port}/model.gguf`), IOError, "IO_FAILED", [`127.0.0.1:${port}`, "HEAD request failed"]);
  });

  it("honours abort signals", async () => {
    const controller = new AbortController();
    controller.abort();
    await expectRejects(HttpRangeSource.open(`${baseUrl}/model.gguf`, { signal: controller.signal }), AbortError, "ABORTED", []);

    const source = await HttpRangeSource.open(`${baseUrl}/model.gguf`);
    await expectRejects(source.read(0, 4, controller.signal), AbortError, "ABORTED", []);
  });

  it("uses the injected fetch", async () => {
    let calls = 0;
    const counting: typeof fetch = (input, init) => {
      calls++;
      return fetch(input, init);
    };
    const source = await HttpRangeSource.open(`${baseUrl}/model.gguf`, { fetch: counting });
    await source.read(0, 4);
    expect(calls).toBe(2);
  });
});
