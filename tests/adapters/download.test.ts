// Adapter downloads with a time limit and a size limit: a stalled server, a declared size above the
// limit, a body that streams past the limit, and a caller's abort.

import { describe, expect, it } from "vitest";
import { loadMetricAdapter } from "../../src/adapters/load.js";
import { AbortError, DownloadTimeoutError, DownloadTooLargeError, IOError } from "../../src/errors.js";
import type { MetricAdapter } from "../../src/metrics/definition.js";

const URL_ = "https://adapters.test/rude.gguf";
const DEFINITION: MetricAdapter = { format: "gguf", mode: "activated", url: URL_, sha256: "0".repeat(64) };

/** Returns a response whose body sends `chunks`, then ends when `end` is true and stalls otherwise. */
function streamingResponse(chunks: Uint8Array[], end: boolean, headers: Record<string, string> = {}): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      if (end) controller.close();
    },
  });
  return new Response(body, { headers });
}

/** A fetch that ignores its signal, as a careless implementation would. */
function fetchReturning(response: () => Response): typeof fetch {
  return (async () => response()) as unknown as typeof fetch;
}

describe("bounded adapter download", () => {
  it("times out a stalled body", async () => {
    const started = Date.now();
    const load = loadMetricAdapter(DEFINITION, { fetch: fetchReturning(() => streamingResponse([new Uint8Array(10)], false)), downloadTimeoutMs: 200 });
    const error = await load.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DownloadTimeoutError);
    expect(error).toBeInstanceOf(IOError);
    expect((error as Error).message).toContain(URL_);
    expect((error as Error).message).toContain("200 ms");
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it("times out a server that never answers", async () => {
    const never = (() => new Promise<Response>(() => undefined)) as unknown as typeof fetch;
    await expect(loadMetricAdapter(DEFINITION, { fetch: never, downloadTimeoutMs: 100 })).rejects.toBeInstanceOf(DownloadTimeoutError);
  });

  it("rejects a Content-Length above the limit", async () => {
    const response = (): Response => streamingResponse([new Uint8Array(10)], true, { "content-length": "31457280" });
    const error = await loadMetricAdapter(DEFINITION, { fetch: fetchReturning(response), downloadMaxBytes: 1_000 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DownloadTooLargeError);
    const tooLarge = error as DownloadTooLargeError;
    expect(tooLarge.measuredBy).toBe("Content-Length");
    expect(tooLarge.actualBytes).toBe(31_457_280);
    expect(tooLarge.message).toContain(URL_);
    expect(tooLarge.message).toContain("31457280");
    expect(tooLarge.message).toContain("1000 bytes");
  });

  it("stops a body that streams past the limit", async () => {
    const chunks = Array.from({ length: 5 }, () => new Uint8Array(400));
    const error = await loadMetricAdapter(DEFINITION, { fetch: fetchReturning(() => streamingResponse(chunks, false)), downloadMaxBytes: 1_000 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DownloadTooLargeError);
    expect((error as DownloadTooLargeError).measuredBy).toBe("received bytes");
    expect((error as DownloadTooLargeError).actualBytes).toBe(1_200);
  });

  it("passes the limit through to verification", async () => {
    // 10 bytes fit the limit, so the download finishes and the digest check runs next.
    const error = await loadMetricAdapter(DEFINITION, { fetch: fetchReturning(() => streamingResponse([new Uint8Array(10)], true)), downloadMaxBytes: 10 }).catch((caught: unknown) => caught);
    expect((error as { code?: string }).code).toBe("INTEGRITY_FAILED");
  });

  it("aborts through the caller's signal", async () => {
    const controller = new AbortController();
    const load = loadMetricAdapter(DEFINITION, { fetch: fetchReturning(() => streamingResponse([], false)), signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(load).rejects.toBeInstanceOf(AbortError);
  });

  it("reports HTTP errors with the URL", async () => {
    const error = await loadMetricAdapter(DEFINITION, { fetch: fetchReturning(() => new Response("missing", { status: 404 })) }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(IOError);
    expect((error as Error).message).toContain(`${URL_}: download failed with HTTP 404`);
  });
});
