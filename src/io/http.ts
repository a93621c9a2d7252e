// A ByteSource over an HTTP(S) URL, read with Range requests so a model can be parsed and streamed
// without downloading it whole. The server must respond to ranged GETs with 206 Partial Content.

import { AbortError, IOError } from "../errors.js";
import { checkReadRange } from "./range.js";
import type { ByteSource } from "./source.js";

export interface HttpRangeSourceOptions {
  /** The fetch implementation, `globalThis.fetch` by default. */
  fetch?: typeof fetch;
  /** Cancels the requests made by `open`. */
  signal?: AbortSignal;
}

const RANGE_HINT = "serve the file from a server that supports HTTP Range requests (most static file servers and CDNs do)";

function isAbort(error: unknown): boolean {
  return error instanceof Error && error.name === "AbortError";
}

/** Parses "bytes START-END/TOTAL", where TOTAL may be "*". Returns undefined when the header is malformed. */
function parseContentRange(header: string | null): { start: number; end: number; total: number | undefined } | undefined {
  const match = header?.match(/^bytes (\d+)-(\d+)\/(\d+|\*)$/);
  if (!match) return undefined;
  return { start: Number(match[1]), end: Number(match[2]), total: match[3] === "*" ? undefined : Number(match[3]) };
}

export class HttpRangeSource implements ByteSource {
  private constructor(
    readonly name: string,
    readonly size: number,
    private readonly fetchImpl: typeof fetch,
    /** The resource's ETag at open time, compared on every read to detect a file replaced mid-read. */
    private readonly etag: string | null,
  ) {}

  /**
   * Finds the size of `url` and checks that the server honours Range requests: a HEAD request
   * first, then a one-byte ranged GET when HEAD fails or does not advertise `Accept-Ranges: bytes`.
   * Rejects with IOError for network failures, HTTP errors and servers that ignore Range.
   */
  static async open(url: string, options: HttpRangeSourceOptions = {}): Promise<HttpRangeSource> {
    const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
    const signal = options.signal;

    const head = await request(fetchImpl, url, { method: "HEAD", signal }, "HEAD request");
    if (head.status === 404 || head.status === 410) {
      throw new IOError(`${url}: HEAD request failed with HTTP ${head.status} (not found); check the URL`);
    }

    const headLength = head.headers.get("content-length");
    const advertisesRanges = head.headers.get("accept-ranges")?.toLowerCase().includes("bytes") ?? false;
    if (head.ok && headLength !== null && /^\d+$/.test(headLength) && advertisesRanges) {
      return new HttpRangeSource(url, Number(headLength), fetchImpl, head.headers.get("etag"));
    }

    // HEAD was rejected or inconclusive: a ranged GET for the first byte returns the size in Content-Range.
    const probe = await request(fetchImpl, url, { headers: { Range: "bytes=0-0" }, signal }, "ranged GET of byte 0");
    await probe.body?.cancel();
    if (probe.status === 200) {
      throw new IOError(`${url}: the server ignored the Range header (HTTP 200 instead of 206 Partial Content); ${RANGE_HINT}`);
    }
    if (probe.status === 416) {
      return new HttpRangeSource(url, 0, fetchImpl, probe.headers.get("etag")); // an empty resource has no byte 0
    }
    if (probe.status !== 206) {
      throw new IOError(`${url}: ranged GET failed with HTTP ${probe.status} ${probe.statusText}; check the URL and the server`);
    }

    const contentRange = parseContentRange(probe.headers.get("content-range"));
    if (contentRange?.total === undefined) {
      throw new IOError(
        `${url}: the 206 response has no usable Content-Range total (got ${JSON.stringify(probe.headers.get("content-range"))}); the size is unknown. For a cross-origin URL, the server must expose Content-Range through Access-Control-Expose-Headers`,
      );
    }
    return new HttpRangeSource(url, contentRange.total, fetchImpl, probe.headers.get("etag"));
  }

  // NOTE: a read makes one request and is not retried, so a transient network error fails it with IOError.
  async read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    if (signal?.aborted) throw new AbortError(`${this.name}: read aborted`);
    checkReadRange(this.name, this.size, offset, length);
    if (length === 0) return new Uint8Array(0);

    const range = `bytes=${offset}-${offset + length - 1}`;
    const response = await request(this.fetchImpl, this.name, { headers: { Range: range }, signal }, `GET ${range}`);
    const wholeFile = offset === 0 && length === this.size;

    if (response.status === 200 && !wholeFile) {
      await response.body?.cancel();
      throw new IOError(`${this.name}: the server ignored the Range header for ${range} (HTTP 200 instead of 206); ${RANGE_HINT}`);
    }
    if (response.status !== 206 && response.status !== 200) {
      await response.body?.cancel();
      throw new IOError(`${this.name}: GET ${range} failed with HTTP ${response.status} ${response.statusText}`);
    }

    const etag = response.headers.get("etag");
    if (this.etag !== null && etag !== null && etag !== this.etag) {
      await response.body?.cancel();
      throw new IOError(`${this.name}: the resource changed while it was being read (ETag ${this.etag} became ${etag}); open it again`);
    }

    // Browsers hide Content-Range from cross-origin scripts unless the server exposes it, so the
    // start is checked only when the header is visible. The body length is checked below.
    const contentRange = parseContentRange(response.headers.get("content-range"));
    if (response.status === 206 && contentRange && contentRange.start !== offset) {
      await response.body?.cancel();
      throw new IOError(`${this.name}: requested ${range} but the server returned bytes ${contentRange.start}-${contentRange.end}`);
    }

    let body: ArrayBuffer;
    try {
      body = await response.arrayBuffer();
    } catch (cause) {
      if (isAbort(cause)) throw new AbortError(`${this.name}: read aborted`);
      throw new IOError(`${this.name}: failed to read the body of GET ${range}: ${(cause as Error).message}`, { cause });
    }
    if (body.byteLength !== length) {
      throw new IOError(`${this.name}: GET ${range} returned ${body.byteLength} bytes, expected ${length}; the connection was cut or the server mishandles Range`);
    }
    return new Uint8Array(body);
  }
}

/** Runs one fetch, turning network failures into IOError and cancellation into AbortError. */
async function request(fetchImpl: typeof fetch, url: string, init: RequestInit, description: string): Promise<Response> {
  if (init.signal?.aborted) throw new AbortError(`${url}: ${description} aborted`);
  try {
    return await fetchImpl(url, init);
  } catch (cause) {
    if (isAbort(cause)) throw new AbortError(`${url}: ${description} aborted`);
    throw new IOError(`${url}: ${description} failed: ${(cause as Error).message}; check the URL and the network`, { cause });
  }
}
