// Bounded HTTP download: a time limit and a byte limit, both enforced while the body streams, so
// a server that stalls or sends far too much fails with a typed error instead of hanging.

import { AbortError, DownloadTimeoutError, DownloadTooLargeError, IOError, TokenjudgeError } from "../errors.js";

export interface BoundedDownloadOptions {
  /** The fetch implementation; the global `fetch` when omitted. */
  fetch?: typeof fetch;
  /** Cancels the download with `AbortError`. */
  signal?: AbortSignal;
  /** Milliseconds the whole download (headers and body) may take. */
  timeoutMs: number;
  /** Max bytes of the body. */
  maxBytes: number;
  /** The file's description in messages, for example "the adapter". */
  fileLabel: string;
  /** The next step appended to an HTTP error message. */
  hint: string;
}

/**
 * Downloads `url` into memory. Throws `DownloadTimeoutError` when `timeoutMs` passes,
 * `DownloadTooLargeError` when Content-Length or the streamed size exceeds `maxBytes`,
 * `AbortError` when `signal` aborts, and `IOError` for network and HTTP failures.
 */
export async function downloadBounded(url: string, options: BoundedDownloadOptions): Promise<Uint8Array> {
  const fetchFunction = options.fetch ?? globalThis.fetch;
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, options.timeoutMs);
  const stop = (): void => controller.abort();
  options.signal?.addEventListener("abort", stop, { once: true });

  // Rejects once the download is cancelled, so a body that never sends another chunk cannot hang
  // the read loop even with a fetch implementation that ignores the signal.
  const cancelled = new Promise<never>((_resolve, reject) => {
    const fail = (): void => reject(timedOut ? new DownloadTimeoutError(url, options.timeoutMs) : new AbortError(`${url}: the download was aborted`));
    if (controller.signal.aborted) fail();
    else controller.signal.addEventListener("abort", fail, { once: true });
  });
  cancelled.catch(() => undefined);

  try {
    if (options.signal?.aborted) throw new AbortError(`${url}: the download was aborted`);
    let response: Response;
    try {
      response = await Promise.race([fetchFunction(url, { signal: controller.signal }), cancelled]);
    } catch (cause) {
      if (controller.signal.aborted) await cancelled;
      throw new IOError(`${url}: failed to download ${options.fileLabel}: ${(cause as Error).message}`, { cause });
    }
    if (!response.ok) throw new IOError(`${url}: download failed with HTTP ${response.status}; ${options.hint}`);

    const declared = Number(response.headers.get("content-length"));
    if (response.headers.has("content-length") && declared > options.maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw new DownloadTooLargeError(url, options.maxBytes, declared, "Content-Length");
    }
    try {
      return await readBody(url, response, options.maxBytes, cancelled);
    } catch (error) {
      if (error instanceof TokenjudgeError) throw error;
      // A body stream that the abort errored reports a DOMException, so the typed reason replaces it.
      if (controller.signal.aborted) await cancelled;
      throw new IOError(`${url}: failed to read ${options.fileLabel}: ${(error as Error).message}`, { cause: error });
    }
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", stop);
  }
}

/** Reads the body chunk by chunk, stopping at `maxBytes` or when `cancelled` rejects. */
async function readBody(url: string, response: Response, maxBytes: number, cancelled: Promise<never>): Promise<Uint8Array> {
  // A fetch replacement may return a Response without a body stream, so its whole body is read at once.
  if (!response.body) {
    const whole = new Uint8Array(await Promise.race([response.arrayBuffer(), cancelled]));
    if (whole.byteLength > maxBytes) throw new DownloadTooLargeError(url, maxBytes, whole.byteLength, "received bytes");
    return whole;
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;

  try {
    for (;;) {
      const { done, value } = await Promise.race([reader.read(), cancelled]);
      if (done) break;
      received += value.byteLength;
      if (received > maxBytes) throw new DownloadTooLargeError(url, maxBytes, received, "received bytes");
      chunks.push(value);
    }
  } catch (error) {
    await reader.cancel().catch(() => undefined);
    throw error;
  }

  const bytes = new Uint8Array(received);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}
