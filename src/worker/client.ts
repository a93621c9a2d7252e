// Main-thread side of the worker runtime: `createWorkerRuntime()` returns a TokenjudgeRuntime whose
// calls run in a Web Worker. AbortSignals are forwarded as `abort(id)` messages, progress callbacks
// as comlink proxies, and typed errors keep their class (see runtime/error-transfer.ts). When the
// worker fails, every pending and later call rejects with WorkerCrashedError; create a new runtime.

import * as Comlink from "comlink";
import { InvalidInputError } from "../errors.js";
import type { ModelConfig } from "../model/config.js";
import { installErrorTransfer } from "../runtime/error-transfer.js";
import { WorkerCrashedError } from "../runtime/errors.js";
import type { LoadModelOptions, LogitsOptions, LogitsResult, ModelSource, RuntimeInfo, TokenjudgeRuntime } from "../runtime/types.js";
import type { WorkerApi } from "./protocol.js";
import { watchWorker, type WorkerLike } from "./worker-calls.js";

export type { WorkerLike } from "./worker-calls.js";

export interface WorkerRuntimeOptions {
  /** The worker to talk to; by default a new module worker running ./worker.ts. */
  worker?: WorkerLike;
}

export interface WorkerRuntime extends TokenjudgeRuntime {
  /** True once the worker failed or was disposed; every call then rejects. */
  readonly closed: boolean;
}

function startDefaultWorker(): WorkerLike {
  if (typeof Worker === "undefined") {
    throw new InvalidInputError("createWorkerRuntime: Web Workers are not available here (Node has none); use createRuntime() instead");
  }
  // Vite bundles the worker from this exact `new Worker(new URL(...), { type: "module" })` form.
  return new Worker(new URL("./worker.ts", import.meta.url), { type: "module", name: "tokenjudge" });
}

/** Starts a worker (or uses `options.worker`) and returns a runtime that calls into it. */
export function createWorkerRuntime(options: WorkerRuntimeOptions = {}): WorkerRuntime {
  installErrorTransfer();
  const worker = options.worker ?? startDefaultWorker();
  const remote = Comlink.wrap<WorkerApi>(worker);

  const calls = watchWorker(worker, {
    abort: (abortId) => remote.abort(abortId),
    crashMessage: (detail) => `the tokenjudge worker failed (${detail}); create a new runtime with createWorkerRuntime()`,
  });
  const invoke = calls.invoke;

  return {
    get closed() {
      return calls.closed;
    },

    loadModel(source: ModelSource, loadOptions: LoadModelOptions = {}): Promise<ModelConfig> {
      // A relative URL must be resolved against the page, not against the worker script.
      const resolved: ModelSource =
        "url" in source && typeof location !== "undefined" ? { ...source, url: new URL(source.url, location.href).href } : source;
      const onProgress = loadOptions.onProgress ? Comlink.proxy(loadOptions.onProgress) : undefined;
      return invoke(loadOptions.signal, (abortId) => remote.loadModel(resolved, { abortId }, onProgress));
    },

    logits(tokens: number[], logitsOptions: LogitsOptions = {}): Promise<LogitsResult> {
      const { classTokenIds, topK, activationRounding } = logitsOptions;
      return invoke(logitsOptions.signal, (abortId) => remote.logits(tokens, { classTokenIds, topK, activationRounding, abortId }));
    },

    info(): Promise<RuntimeInfo> {
      return invoke(undefined, () => remote.info());
    },

    async dispose(): Promise<void> {
      if (calls.closed) return;
      try {
        await invoke(undefined, () => remote.dispose());
      } finally {
        calls.close(new WorkerCrashedError("this worker runtime was disposed; create a new one with createWorkerRuntime()"));
      }
    },
  };
}
