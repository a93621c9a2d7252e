// Model downloads through the Cache API, with an in-memory CacheStorage and a stand-in fetch.

import { describe, expect, it } from "vitest";
import { fetchModelCached, MODEL_CACHE_NAME } from "../../src/app/model-cache.js";
import { AbortError, IOError } from "../../src/errors.js";

/** Creates an in-memory CacheStorage with the few methods the model cache uses. */
function memoryCaches(options: { failPut?: boolean } = {}): CacheStorage & { opened: string[] } {
  const stores = new Map<string, Map<string, Response>>();
  const opened: string[] = [];
  const open = async (name: string): Promise<Cache> => {
    opened.push(name);
    const store = stores.get(name) ?? new Map<string, Response>();
    stores.set(name, store);
    return {
      match: async (url: string) => store.get(url)?.clone(),
      put: async (url: string, response: Response) => {
        if (options.failPut) throw new DOMException("quota exceeded", "QuotaExceededError");
        store.set(url, response);
      },
      delete: async (url: string) => store.delete(url),
    } as unknown as Cache;
  };
  return { open, opened } as unknown as CacheStorage & { opened: string[] };
}

function bodyOf(size: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => i % 251);
}

/** Creates a fetch that streams `body` in chunks of 1000 bytes and counts its calls. */
function chunkedFetch(body: Uint8Array, headers: Record<string, string> = {}): typeof fetch & { calls: number } {
  const stub = async (): Promise<Response> => {
    stub.calls++;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let offset = 0; offset < body.byteLength; offset += 1000) controller.enqueue(body.slice(offset, offset + 1000));
        controller.close();
      },
    });
    return new Response(stream, { status: 200, headers: { "Content-Length": String(body.byteLength), ...headers } });
  };
  stub.calls = 0;
  return stub as unknown as typeof fetch & { calls: number };
}

describe("fetchModelCached", () => {
  it("downloads once with byte progress, then reads the cache", async () => {
    const body = bodyOf(4500);
    const caches = memoryCaches();
    const fetchStub = chunkedFetch(body);
    const progress: Array<[number, number]> = [];

    const first = await fetchModelCached("https://example.test/model.gguf", { caches, fetch: fetchStub, onBytes: (loaded, total) => progress.push([loaded, total]) });
    expect(first.fromCache).toBe(false);
    expect(new Uint8Array(await first.blob.arrayBuffer())).toEqual(body);
    expect(progress).toEqual([
      [0, 4500],
      [1000, 4500],
      [2000, 4500],
      [3000, 4500],
      [4000, 4500],
      [4500, 4500],
    ]);
    expect(caches.opened).toContain(MODEL_CACHE_NAME);

    const second = await fetchModelCached("https://example.test/model.gguf", { caches, fetch: fetchStub });
    expect(second.fromCache).toBe(true);
    expect(fetchStub.calls).toBe(1);
    expect(new Uint8Array(await second.blob.arrayBuffer())).toEqual(body);
  });

  it("still returns the model when storing fails", async () => {
    const result = await fetchModelCached("https://example.test/m.gguf", { caches: memoryCaches({ failPut: true }), fetch: chunkedFetch(bodyOf(10)) });
    expect(result.blob.size).toBe(10);
    expect(result.cacheWarning).toMatch(/quota exceeded; free browser storage/);
  });

  it("ignores Content-Length of a compressed response", async () => {
    const progress: number[] = [];
    await fetchModelCached("https://example.test/m.gguf", {
      caches: memoryCaches(),
      fetch: chunkedFetch(bodyOf(1500), { "Content-Encoding": "gzip", "Content-Length": "700" }),
      onBytes: (_, total) => progress.push(total),
    });
    expect(new Set(progress)).toEqual(new Set([0]));
  });

  it("rejects HTTP errors, short bodies and aborts", async () => {
    const notFound = (async () => new Response("missing", { status: 404, statusText: "Not Found" })) as typeof fetch;
    await expect(fetchModelCached("https://example.test/x.gguf", { caches: memoryCaches(), fetch: notFound })).rejects.toThrow(/HTTP 404 Not Found/);

    const short = chunkedFetch(bodyOf(100), { "Content-Length": "200" });
    await expect(fetchModelCached("https://example.test/x.gguf", { caches: memoryCaches(), fetch: short })).rejects.toBeInstanceOf(IOError);

    const controller = new AbortController();
    controller.abort();
    const aborting = (async (_url: string, init?: RequestInit) => {
      if (init?.signal?.aborted) throw Object.assign(new Error("aborted"), { name: "AbortError" });
      return new Response("x");
    }) as typeof fetch;
    await expect(fetchModelCached("https://example.test/x.gguf", { caches: memoryCaches(), fetch: aborting, signal: controller.signal })).rejects.toBeInstanceOf(AbortError);
  });
});
