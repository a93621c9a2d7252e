// The one interface the demo page and the chat guardrail talk to. `createEngine()` starts the
// engine worker (engine-worker.ts) and forwards calls through comlink: AbortSignals become
// `abort(id)` messages, the progress callback a comlink proxy, and typed errors keep their class.

import * as Comlink from "comlink";
import { AbortError } from "../errors.js";
import type { EvaluationContent, MetricResult } from "../metrics/index.js";
import { installErrorTransfer } from "../runtime/error-transfer.js";
import { WorkerCrashedError } from "../runtime/errors.js";
import type { BackendPreference, DeviceReport, EngineProgress, EngineWorkerApi, LoadedModelInfo, ModelRequest } from "./engine-protocol.js";

export type { BackendPreference, DeviceReport, EngineBackend, EngineProgress, LoadedModelInfo, ModelRequest } from "./engine-protocol.js";

export interface EngineLoadOptions {
  backend?: BackendPreference;
  onProgress?: (progress: EngineProgress) => void;
  signal?: AbortSignal;
}

export interface EngineEvaluateOptions {
  /** Ids of registered metrics; all of them when omitted. */
  metrics?: string[];
  signal?: AbortSignal;
}

/** The evaluation part of `Engine`, which the guardrail needs. A CPU `Judge` in Node fits it too. */
export interface MetricEngine {
  evaluate(content: EvaluationContent, options?: EngineEvaluateOptions): Promise<MetricResult[]>;
}

export interface Engine extends MetricEngine {
  /** Reports whether the worker finds a WebGPU adapter, and describes it. */
  probeDevice(): Promise<DeviceReport>;
  /** Loads a model, replacing the previous one, and registers the built-in metrics. */
  load(request: ModelRequest, options?: EngineLoadOptions): Promise<LoadedModelInfo>;
  /** Validates and registers a custom metric definition on the loaded model; resolves with its id. */
  registerMetric(definition: unknown): Promise<string>;
  /** Terminates the worker; later calls reject with WorkerCrashedError. */
  dispose(): Promise<void>;
}

/** The parts of a Worker the engine uses. */
export interface EngineWorkerLike extends Comlink.Endpoint {
  terminate(): void;
}

/** Starts the engine worker (or uses `worker`) and returns the engine that calls into it. */
export function createEngine(worker?: EngineWorkerLike): Engine {
  installErrorTransfer();
  const target = worker ?? new Worker(new URL("./engine-worker.ts", import.meta.url), { type: "module", name: "tokenjudge-engine" });
  const remote = Comlink.wrap<EngineWorkerApi>(target);

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
    target.terminate();
  };
  target.addEventListener("error", (event) => {
    (event as Event).preventDefault?.();
    const detail = (event as Partial<ErrorEvent>).message || "the worker script failed to load";
    close(new WorkerCrashedError(`the tokenjudge engine worker failed (${detail}); reload the page`, detail));
  });

  let nextAbortId = 1;
  const invoke = async <T>(signal: AbortSignal | undefined, call: (abortId: number | undefined) => Promise<T>): Promise<T> => {
    if (failure) throw failure;
    if (signal?.aborted) throw new AbortError();

    const abortId = signal ? nextAbortId++ : undefined;
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      if (!signal || abortId === undefined) return;
      onAbort = () => {
        void remote.abort(abortId);
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
    probeDevice: () => invoke(undefined, () => remote.probeDevice()),

    load(request, options = {}) {
      const progress = options.onProgress ? Comlink.proxy(options.onProgress) : undefined;
      return invoke(options.signal, (abortId) => remote.load(request, { backend: options.backend ?? "auto", abortId }, progress));
    },

    registerMetric: (definition) => invoke(undefined, () => remote.registerMetric(definition)),

    evaluate(content, options = {}) {
      return invoke(options.signal, (abortId) => remote.evaluate(content, { metrics: options.metrics, abortId }));
    },

    async dispose() {
      if (failure) return;
      await remote.dispose().catch(() => undefined);
      close(new WorkerCrashedError("the engine was disposed; create a new one with createEngine()", "disposed"));
    },
  };
}
