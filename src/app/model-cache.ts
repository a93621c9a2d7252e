// Model downloads for the demo, kept in the Cache API so the next visit (and an offline one) skips
// the network. The Cache API was chosen over OPFS for three reasons. The page and the
// service worker both reach it with the same URL key. A cached Response's Blob is read in slices by
// BlobSource, so a load does not copy the whole file first. Writing needs no synchronous access handle.

import { AbortError, IOError } from "../errors.js";

/** Name of the Cache API cache that stores model files. The service worker precaches the demo model here too. */
export const MODEL_CACHE_NAME = "tokenjudge-models-v1";

export interface CachedDownload {
  blob: Blob;
  fromCache: boolean;
  /** Set when the download succeeded but could not be stored. */
  cacheWarning?: string;
}

export interface DownloadOptions {
  signal?: AbortSignal;
  /** Called with bytes received so far and the Content-Length (0 when unknown). */
  onBytes?: (loaded: number, total: number) => void;
  fetch?: typeof fetch;
  /** The CacheStorage to use; `globalThis.caches` by default, none when it is missing (plain http origins). */
  caches?: CacheStorage;
}

/** Returns the file at `url` from the model cache, or downloads it whole and stores it there. */
export async function fetchModelCached(url: string, options: DownloadOptions = {}): Promise<CachedDownload> {
  const storage = options.caches ?? (globalThis as { caches?: CacheStorage }).caches;
  const cache = storage ? await storage.open(MODEL_CACHE_NAME) : undefined;

  const hit = await cache?.match(url);
  if (hit) return { blob: await hit.blob(), fromCache: true };

  const blob = await download(url, options);
  if (!cache) return { blob, fromCache: false, cacheWarning: "the Cache API is not available on this page (it needs https or localhost), so the model will be downloaded again next time" };

  try {
    await cache.put(url, new Response(blob, { headers: { "Content-Type": "application/octet-stream", "Content-Length": String(blob.size) } }));
  } catch (cause) {
    const reason = (cause as Error).message || String(cause);
    return { blob, fromCache: false, cacheWarning: `storing ${url} (${blob.size} bytes) in the model cache failed: ${reason}; free browser storage to keep it for the next visit` };
  }
  return { blob, fromCache: false };
}

// NOTE: the chunks stay in memory until the Blob is built, so a download needs about the file's
// size in free memory (600 MB for the largest preset).
async function download(url: string, options: DownloadOptions): Promise<Blob> {
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  let response: Response;
  try {
    response = await fetchImpl(url, { signal: options.signal });
  } catch (cause) {
    if ((cause as Error).name === "AbortError") throw new AbortError(`${url}: download aborted`);
    throw new IOError(`${url}: download failed: ${(cause as Error).message}; check the URL and the network connection`, { cause });
  }
  if (!response.ok) throw new IOError(`${url}: download failed with HTTP ${response.status} ${response.statusText}; check the URL`);

  const lengthHeader = response.headers.get("content-length");
  // A compressed response's Content-Length counts encoded bytes, not the bytes the reader yields.
  const encoded = (response.headers.get("content-encoding") ?? "identity") !== "identity";
  const total = !encoded && lengthHeader !== null && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : 0;
  if (!response.body) return response.blob();

  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  options.onBytes?.(0, total);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.byteLength;
      options.onBytes?.(loaded, total);
    }
  } catch (cause) {
    if (options.signal?.aborted) throw new AbortError(`${url}: download aborted after ${loaded} bytes`);
    throw new IOError(`${url}: download failed after ${loaded} of ${total || "unknown"} bytes: ${(cause as Error).message}; try again`, { cause });
  }
  if (total > 0 && loaded !== total) throw new IOError(`${url}: received ${loaded} bytes but Content-Length is ${total}; the download was cut short, so try again`);
  return new Blob(chunks as BlobPart[], { type: "application/octet-stream" });
}
