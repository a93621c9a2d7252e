// Browser cache of downloaded adapter bytes in IndexedDB (through idb-keyval), keyed by URL and
// SHA-256. Every read is verified against the digest: a corrupted entry is deleted and downloaded
// again. Entries are evicted least recently used first to stay under a byte budget.
//
// Store layout: "data:<url>#<sha256>" contains the bytes and "meta:<url>#<sha256>" a small record
// ({ url, sha256, bytes, lastUsed }), so eviction reads only the records.

import { createStore, del, entries, get, set, type UseStore } from "idb-keyval";

import { CacheQuotaError, throwIfAborted } from "../errors.js";
import type { AdapterByteStore } from "./load.js";
import { sha256Hex, verifySha256 } from "./sha256.js";

interface EntryRecord {
  url: string;
  sha256: string;
  bytes: number;
  /** Milliseconds since the epoch of the last read or write. */
  lastUsed: number;
}

/** The key-value operations the cache needs; idb-keyval over one object store by default. */
export interface CacheBackend {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown): Promise<void>;
  del(key: string): Promise<void>;
  /** Every key and value in the store. */
  entries(): Promise<[string, unknown][]>;
}

export interface AdapterCacheOptions {
  /** Max bytes of adapter data kept; older entries are evicted first. */
  budgetBytes: number;
  /** IndexedDB database and object store names; "tokenjudge-adapters" and "entries" by default. */
  databaseName?: string;
  storeName?: string;
  /** Replaces the IndexedDB backend, for tests and other storage. */
  backend?: CacheBackend;
  /** Clock for the LRU order; Date.now by default. */
  now?: () => number;
}

const DATA_PREFIX = "data:";
const META_PREFIX = "meta:";

/** Returns a backend over one idb-keyval object store. */
export function indexedDBBackend(databaseName: string, storeName: string): CacheBackend {
  const store: UseStore = createStore(databaseName, storeName);
  return {
    get: (key) => get(key, store),
    set: (key, value) => set(key, value, store),
    del: (key) => del(key, store),
    entries: () => entries<string, unknown>(store),
  };
}

export class AdapterCache implements AdapterByteStore {
  private readonly backend: CacheBackend;
  private readonly now: () => number;

  constructor(private readonly options: AdapterCacheOptions) {
    if (!(options.budgetBytes >= 0)) throw new RangeError(`AdapterCache: budgetBytes ${options.budgetBytes} is invalid; pass a byte count of 0 or more`);
    this.backend = options.backend ?? indexedDBBackend(options.databaseName ?? "tokenjudge-adapters", options.storeName ?? "entries");
    this.now = options.now ?? Date.now;
  }

  /**
   * Returns the bytes of `url` with digest `sha256`: from the store when a stored copy verifies,
   * else from `download`, which are verified and then stored. Throws `IntegrityError` when the
   * downloaded bytes do not match, and `CacheQuotaError` when the browser quota rejects the write.
   */
  async load(url: string, sha256: string, download: () => Promise<Uint8Array>, signal?: AbortSignal): Promise<Uint8Array> {
    const key = `${url}#${sha256}`;
    const cached = await this.backend.get(DATA_PREFIX + key);
    if (cached instanceof Uint8Array) {
      if ((await sha256Hex(cached)) === sha256) {
        await this.backend.set(META_PREFIX + key, { url, sha256, bytes: cached.length, lastUsed: this.now() } satisfies EntryRecord);
        return cached;
      }
      // A corrupted entry is dropped and fetched again.
      await this.delete(key);
    }

    throwIfAborted(signal);
    const bytes = await download();
    await verifySha256(bytes, sha256, url);
    await this.store(key, { url, sha256, bytes: bytes.length, lastUsed: this.now() }, bytes);
    return bytes;
  }

  /** Bytes of adapter data currently stored. */
  async size(): Promise<number> {
    return (await this.records()).reduce((total, [, record]) => total + record.bytes, 0);
  }

  /** Keys ("<url>#<sha256>") of the stored entries, least recently used first. */
  async keys(): Promise<string[]> {
    return (await this.records()).map(([key]) => key);
  }

  async delete(key: string): Promise<void> {
    await this.backend.del(DATA_PREFIX + key);
    await this.backend.del(META_PREFIX + key);
  }

  private async store(key: string, record: EntryRecord, bytes: Uint8Array): Promise<void> {
    const budget = this.options.budgetBytes;
    // NOTE: an adapter larger than the whole budget is returned to the caller but not stored.
    if (record.bytes > budget) return;

    const records = await this.records();
    let cachedBytes = records.reduce((total, [, entry]) => total + entry.bytes, 0);
    for (const [oldKey, oldRecord] of records) {
      if (cachedBytes + record.bytes <= budget) break;
      await this.delete(oldKey);
      cachedBytes -= oldRecord.bytes;
    }

    try {
      await this.backend.set(DATA_PREFIX + key, bytes);
      await this.backend.set(META_PREFIX + key, record);
    } catch (error) {
      await this.delete(key).catch(() => undefined);
      if (isQuotaError(error)) throw new CacheQuotaError(key, record.bytes, cachedBytes, budget, { cause: error });
      throw error;
    }
  }

  /** Returns [key, record] pairs, least recently used first. */
  private async records(): Promise<[string, EntryRecord][]> {
    const all = await this.backend.entries();
    const records = all
      .filter(([key]) => typeof key === "string" && key.startsWith(META_PREFIX))
      .map(([key, value]) => [key.slice(META_PREFIX.length), value as EntryRecord] as [string, EntryRecord]);
    return records.sort((x, y) => x[1].lastUsed - y[1].lastUsed);
  }
}

function isQuotaError(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { name?: unknown }).name === "QuotaExceededError";
}
