// The adapter cache on fake-indexeddb, an in-memory IndexedDB for Node.

import "fake-indexeddb/auto";

import { describe, expect, it } from "vitest";

import { AdapterCache, indexedDBBackend, type CacheBackend } from "../../src/adapters/cache.js";
import { loadMetricAdapter } from "../../src/adapters/load.js";
import { ggufLoraAdapterInput, randomLora } from "../../src/adapters/fixtures.js";
import { sha256Hex } from "../../src/adapters/sha256.js";
import { CacheQuotaError, IntegrityError } from "../../src/errors.js";
import { writeGGUF } from "../../src/gguf/writer.js";
import { smallConfig } from "../reference/helpers.js";

let databaseCount = 0;

/** Creates a cache on a fresh IndexedDB database, with a clock that advances by 1 per call. */
function freshCache(budgetBytes: number, backend?: CacheBackend): { cache: AdapterCache; backend: CacheBackend } {
  const store = backend ?? indexedDBBackend(`tokenjudge-test-${++databaseCount}`, "entries");
  let time = 0;
  return { cache: new AdapterCache({ budgetBytes, backend: store, now: () => ++time }), backend: store };
}

function bytesOf(length: number, fill: number): Uint8Array {
  return new Uint8Array(length).fill(fill);
}

/** A download function that counts its calls. */
function downloader(bytes: Uint8Array): { download: () => Promise<Uint8Array>; calls: () => number } {
  let calls = 0;
  return {
    download: async () => {
      calls++;
      return bytes.slice();
    },
    calls: () => calls,
  };
}

describe("AdapterCache", () => {
  it("serves a second load from storage", async () => {
    const { cache } = freshCache(1000);
    const bytes = bytesOf(100, 7);
    const sha = await sha256Hex(bytes);
    const source = downloader(bytes);

    expect(await cache.load("https://a.invalid/x", sha, source.download)).toEqual(bytes);
    expect(await cache.load("https://a.invalid/x", sha, source.download)).toEqual(bytes);
    expect(source.calls()).toBe(1);
    expect(await cache.size()).toBe(100);
  });

  it("rejects a download with the wrong digest", async () => {
    const { cache } = freshCache(1000);
    const source = downloader(bytesOf(10, 1));
    await expect(cache.load("https://a.invalid/y", "0".repeat(64), source.download)).rejects.toBeInstanceOf(IntegrityError);
    expect(await cache.size()).toBe(0);
  });

  it("evicts and refetches a corrupted entry", async () => {
    const { cache, backend } = freshCache(1000);
    const bytes = bytesOf(50, 3);
    const sha = await sha256Hex(bytes);
    const source = downloader(bytes);
    await cache.load("https://a.invalid/z", sha, source.download);

    await backend.set(`data:https://a.invalid/z#${sha}`, bytesOf(50, 4));
    expect(await cache.load("https://a.invalid/z", sha, source.download)).toEqual(bytes);
    expect(source.calls()).toBe(2);
    expect(await backend.get(`data:https://a.invalid/z#${sha}`)).toEqual(bytes);
  });

  it("evicts the least recently used entry", async () => {
    const { cache } = freshCache(250);
    const items = await Promise.all(
      [1, 2, 3].map(async (fill) => {
        const bytes = bytesOf(100, fill);
        return { url: `https://a.invalid/${fill}`, sha: await sha256Hex(bytes), source: downloader(bytes) };
      }),
    );
    const [first, second, third] = items as [(typeof items)[0], (typeof items)[0], (typeof items)[0]];

    await cache.load(first.url, first.sha, first.source.download);
    await cache.load(second.url, second.sha, second.source.download);
    await cache.load(first.url, first.sha, first.source.download); // first is now the most recent
    await cache.load(third.url, third.sha, third.source.download);

    expect(await cache.keys()).toEqual([`${first.url}#${first.sha}`, `${third.url}#${third.sha}`]);
    expect(await cache.size()).toBe(200);
  });

  it("skips storing an entry over the budget", async () => {
    const { cache } = freshCache(10);
    const bytes = bytesOf(20, 9);
    expect(await cache.load("https://a.invalid/big", await sha256Hex(bytes), downloader(bytes).download)).toEqual(bytes);
    expect(await cache.size()).toBe(0);
  });

  it("reports a quota error with the sizes", async () => {
    const inner = indexedDBBackend(`tokenjudge-test-${++databaseCount}`, "entries");
    const full: CacheBackend = {
      ...inner,
      set: async (key, value) => {
        if (key.startsWith("data:")) throw new DOMException("quota reached", "QuotaExceededError");
        return inner.set(key, value);
      },
    };
    const { cache } = freshCache(1000, full);
    const bytes = bytesOf(64, 5);
    try {
      await cache.load("https://a.invalid/q", await sha256Hex(bytes), downloader(bytes).download);
      expect.unreachable("expected CacheQuotaError");
    } catch (error) {
      expect(error).toBeInstanceOf(CacheQuotaError);
      expect((error as CacheQuotaError).entryBytes).toBe(64);
      expect((error as CacheQuotaError).budgetBytes).toBe(1000);
      expect((error as CacheQuotaError).cachedBytes).toBe(0);
    }
  });

  it("feeds loadMetricAdapter", async () => {
    const { cache } = freshCache(1 << 20);
    const bytes = writeGGUF(ggufLoraAdapterInput(randomLora(smallConfig(), { seed: 4, rank: 2 }), "llama"));
    const sha256 = await sha256Hex(bytes);
    let fetches = 0;
    const fakeFetch = (async () => {
      fetches++;
      return new Response(bytes.slice() as Uint8Array<ArrayBuffer>);
    }) as unknown as typeof fetch;

    const definition = { url: "https://a.invalid/adapter.gguf", sha256, mode: "activated", format: "gguf" } as const;
    const first = await loadMetricAdapter(definition, { fetch: fakeFetch, cache });
    const second = await loadMetricAdapter(definition, { fetch: fakeFetch, cache });
    expect(fetches).toBe(1);
    expect([...second.matrices.keys()]).toEqual([...first.matrices.keys()]);
  });
});
