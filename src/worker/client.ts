// Main-thread side of the worker runtime: `createWorkerRuntime()` returns a TokenjudgeRuntime whose
// calls run in a Web Worker. AbortSignals are forwarded as `abort(id)` messages, progress callbacks
// as comlink proxies, and typed errors keep their class (see runtime/error-transfer.ts). When the
// worker fails, every pending and later call rejects with WorkerCrashedError; create a new runtime.

import * as Comlink from "comlink";
import { AbortError, InvalidInputError } from "../errors.js";
import type { ModelConfig } from "../model/config.js";
import { installErrorTransfer } from "../runtime/error-transfer.js";
import { WorkerCrashedError } from "../runtime/errors.js";
import type { LoadModelOptions, LogitsOptions, LogitsResult, ModelSource, RuntimeInfo, TokenjudgeRuntime } from "../runtime/types.js";
import type { WorkerApi } from "./protocol.js";

/** The parts of a `Worker` the client uses; tests pass a stand-in built on a MessageChannel. */
export interface WorkerLike extends Comlink.Endpoint {
  terminate(): void;
}

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

/** Describes a worker `error` or `messageerror` event for the crash message. */
function describeWorkerEvent(event: Event): string {
  const errorEvent = event as Partial<ErrorEvent>;
  if (errorEvent.message) {
    const where = errorEvent.filename ? ` at ${errorEvent.filename}:${errorEvent.lineno ?? 0}` : "";
    return `${errorEvent.message}${where}`;
  }
  return `${event.type} event without a message (the worker script may have failed to load)`;
}

/** Starts a worker (or uses `options.worker`) and returns a runtime that calls into it. */
export function createWorkerRuntime(options: WorkerRuntimeOptions = {}): WorkerRuntime {
  installErrorTransfer();
  const worker = options.worker ?? startDefaultWorker();
  const remote = Comlink.wrap<WorkerApi>(worker);

  let failure: WorkerCrashedError | undefined;
  let rejectPending: (error: WorkerCrashedError) => void = () => undefined;
  const crashed = new Promise<never>((_, reject) => {
    rejectPending = reject;
  });
  crashed.catch(() => undefined);

  const close = (error: WorkerCrashedError): void => {
    if (failure) return;
    failure = error;
    rejectPending(error);
    worker.removeEventListener("error", onError);
    worker.removeEventListener("messageerror", onError);
    worker.terminate();
  };

  const onError = (event: Event): void => {
    event.preventDefault?.();
    const detail = describeWorkerEvent(event);
    close(new WorkerCrashedError(`the tokenjudge worker failed (${detail}); create a new runtime with createWorkerRuntime()`, detail));
  };
  worker.addEventListener("error", onError);
  worker.addEventListener("messageerror", onError);

  let nextAbortId = 1;

  /** Runs `call` unless the worker is gone; rejects on worker failure or on `signal` abort. */
  const invoke = async <T>(signal: AbortSignal | undefined, call: (abortId: number | undefined) => Promise<T>): Promise<T> => {
    if (failure) throw failure;
    if (signal?.aborted) throw new AbortError();

    const abortId = signal ? nextAbortId++ : undefined;
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      if (!signal || abortId === undefined) return;
      onAbort = () => {
        remote.abort(abortId).catch(() => undefined);
        reject(new AbortError());
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });
    aborted.catch(() => undefined);

    try {
      return await Promise.race([call(abortId), crashed, aborted]);
    } finally {
      if (onAbort) signal?.removeEventListener("abort", onAbort);
    }
  };

  return {
    get closed() {
      return failure !== undefined;
    },

    loadModel(source: ModelSource, loadOptions: LoadModelOptions = {}): Promise<ModelConfig> {
      // A relative URL must be resolved against the page, not against the worker script.
      const resolved: ModelSource =
        "url" in source && typeof location !== "undefined" ? { ...source, url: new URL(source.url, location.href).href } : source;
      const onProgress = loadOptions.onProgress ? Comlink.proxy(loadOptions.onProgress) : undefined;
      return invoke(loadOptions.signal, (abortId) => remote.loadModel(resolved, { abortId }, onProgress));
    },

    logits(tokens: number[], logitsOptions: LogitsOptions = {}): Promise<LogitsResult> {
      const { classTokenIds, topK } = logitsOptions;
      return invoke(logitsOptions.signal, (abortId) => remote.logits(tokens, { classTokenIds, topK, abortId }));
    },

    info(): Promise<RuntimeInfo> {
      return invoke(undefined, () => remote.info());
    },

    async dispose(): Promise<void> {
      if (failure) return;
      try {
        await invoke(undefined, () => remote.dispose());
      } finally {
        close(new WorkerCrashedError("this worker runtime was disposed; create a new one with createWorkerRuntime()"));
      }
    },
  };
}
