// Test page for the Playwright e2e tests: starts the worker runtime, loads the model named in the
// query string over HTTP and scores the given tokens. The outcome is stored in
// `window.tokenjudgeResult` (a promise) for the test to read.
//
// Query parameters: model (URL of a GGUF file), tokens (JSON array of ids), topK (default 20).
// With scenario=crash the page instead starts a worker whose script throws, checks that a call
// into it rejects, then checks that a new runtime returns `info()`.

import { TokenjudgeError } from "../../src/errors.js";
import type { LoadProgress } from "../../src/runtime/progress.js";
import { createWorkerRuntime } from "../../src/worker/client.js";

export type PageResult =
  | {
      ok: true;
      logProbs: number[];
      top: Array<{ token: number; logProb: number }>;
      progress: LoadProgress[];
      isSoftwareAdapter: boolean;
    }
  | { ok: false; name: string; code: string | undefined; message: string; typed: boolean }
  | { ok: true; crashed: { name: string; message: string; typed: boolean }; replacementWorks: boolean };

function describeError(error: unknown): { name: string; code: string | undefined; message: string; typed: boolean } {
  const typed = error instanceof TokenjudgeError;
  return { name: (error as Error).name, code: typed ? error.code : undefined, message: (error as Error).message, typed };
}

/** Calls into a worker whose script throws at start, then into a fresh runtime. */
async function runCrash(): Promise<PageResult> {
  const script = URL.createObjectURL(new Blob(["throw new Error('worker script failed on purpose');"], { type: "text/javascript" }));
  const broken = createWorkerRuntime({ worker: new Worker(script) });
  const crashed = await broken.info().then(
    () => ({ name: "none", message: "the call into the broken worker resolved", typed: false }),
    (error: unknown) => describeError(error),
  );

  const replacement = createWorkerRuntime();
  try {
    const info = await replacement.info();
    return { ok: true, crashed, replacementWorks: typeof info.isSoftwareAdapter === "boolean" };
  } finally {
    await replacement.dispose().catch(() => undefined);
  }
}

async function run(): Promise<PageResult> {
  const params = new URLSearchParams(location.search);
  const model = params.get("model") ?? "";
  const tokens = JSON.parse(params.get("tokens") ?? "[]") as number[];
  const topK = Number(params.get("topK") ?? 20);

  const runtime = createWorkerRuntime();
  try {
    const progress: LoadProgress[] = [];
    await runtime.loadModel({ url: model }, { onProgress: (report) => progress.push(report) });
    const result = await runtime.logits(tokens, { topK });
    const info = await runtime.info();
    return {
      ok: true,
      logProbs: Array.from(result.logProbs),
      top: result.top.map(({ token, logProb }) => ({ token, logProb })),
      progress,
      isSoftwareAdapter: info.isSoftwareAdapter,
    };
  } catch (error) {
    return { ok: false, ...describeError(error) };
  } finally {
    await runtime.dispose().catch(() => undefined);
  }
}

const outcome = new URLSearchParams(location.search).get("scenario") === "crash" ? runCrash() : run();
(window as unknown as { tokenjudgeResult: Promise<PageResult> }).tokenjudgeResult = outcome;
void outcome.then((result) => {
  document.getElementById("status")!.textContent = result.ok ? "done" : `failed: ${result.message}`;
});
