// Main-thread side of the judge worker: `createWorkerJudge()` starts a worker, creates a Judge in
// it and returns an object with the Judge's interface (JudgeInterface) whose calls run there.
// AbortSignals are forwarded as `abort(id)` messages, the progress callback as a comlink proxy,
// and typed errors keep their class (runtime/error-transfer.ts). When the worker fails, every
// pending and later call rejects with WorkerCrashedError; create a new judge.

import * as Comlink from "comlink";
import type { LoraAdapter } from "../adapters/lora.js";
import { InvalidInputError } from "../errors.js";
import type { MetricDefinition } from "../metrics/definition.js";
import type { EvaluateOptions, JudgeInterface } from "../metrics/judge.js";
import type { MetricResult } from "../metrics/pipeline.js";
import type { EvaluationContent, MetricPrompt } from "../metrics/prompt.js";
import { installErrorTransfer } from "../runtime/error-transfer.js";
import { WorkerCrashedError } from "../runtime/errors.js";
import type { ProgressCallback } from "../runtime/progress.js";
import type { JudgeModelSource, JudgeWorkerApi } from "./judge-protocol.js";
import { watchWorker, type WorkerLike } from "./worker-calls.js";

export interface WorkerJudgeOptions {
  /** A file path (Node only), or a `JudgeModelSource`: a path, a Blob or File, or bytes. */
  model: string | JudgeModelSource;
  backend: "cpu" | "webgpu";
  /** Metric definitions, or ids of built-in metrics; all built-ins when omitted. */
  metrics?: (MetricDefinition | string)[];
  /** See `JudgeOptions.chatTemplate`. */
  chatTemplate?: string | null;
  /** Adapters already in memory, by metric id; they are copied to the worker. */
  adapters?: Record<string, LoraAdapter>;
  /** Receives the WebGPU backend's upload and compile reports, then "ready". */
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
  /** The worker to talk to; by default a new module worker running ./judge-worker.ts. */
  worker?: WorkerLike;
}

/** A Judge running in a worker. `renderPrompt` is asynchronous here, because it runs in the worker. */
export interface WorkerJudge extends JudgeInterface {
  renderPrompt(content: EvaluationContent, id: string): Promise<MetricPrompt>;
  /** Disposes the judge in the worker and terminates the worker. */
  dispose(): Promise<void>;
  /** True once the worker failed or was disposed; every call then rejects. */
  readonly closed: boolean;
}

function startDefaultWorker(): WorkerLike {
  if (typeof Worker === "undefined") {
    throw new InvalidInputError("createWorkerJudge: Web Workers are not available here (Node has none); use Judge.create() or pass options.worker");
  }
  // Vite bundles the worker from this exact `new Worker(new URL(...), { type: "module" })` form.
  return new Worker(new URL("./judge-worker.ts", import.meta.url), { type: "module", name: "tokenjudge-judge" });
}

/**
 * Starts a worker (or uses `options.worker`), creates the judge in it and resolves once the model
 * is loaded and the metrics registered. Rejects with the worker's error, with its class, and
 * terminates the worker when creation fails.
 */
export async function createWorkerJudge(options: WorkerJudgeOptions): Promise<WorkerJudge> {
  installErrorTransfer();
  const worker = options.worker ?? startDefaultWorker();
  const remote = Comlink.wrap<JudgeWorkerApi>(worker);

  const calls = watchWorker(worker, {
    abort: (abortId) => remote.abort(abortId),
    crashMessage: (detail) => `the tokenjudge judge worker failed (${detail}); create a new judge with createWorkerJudge()`,
  });
  const invoke = calls.invoke;

  const model: JudgeModelSource = typeof options.model === "string" ? { path: options.model } : options.model;
  const onProgress = options.onProgress ? Comlink.proxy(options.onProgress) : undefined;
  let metricIds: string[];
  try {
    metricIds = await invoke(options.signal, (abortId) =>
      remote.create(
        { model, backend: options.backend, metrics: options.metrics, chatTemplate: options.chatTemplate, adapters: options.adapters, abortId },
        onProgress,
      ),
    );
  } catch (error) {
    calls.close(new WorkerCrashedError("createWorkerJudge failed, so its worker was terminated; create a new judge"));
    throw error;
  }

  return {
    get closed() {
      return calls.closed;
    },

    get metricIds() {
      return [...metricIds];
    },

    async register(definition: unknown, registerOptions: { adapter?: LoraAdapter; signal?: AbortSignal } = {}): Promise<void> {
      metricIds = await invoke(registerOptions.signal, (abortId) => remote.register(definition, { adapter: registerOptions.adapter, abortId }));
    },

    evaluate(content: EvaluationContent, evaluateOptions: EvaluateOptions = {}): Promise<MetricResult[]> {
      return invoke(evaluateOptions.signal, (abortId) => remote.evaluate(content, { metrics: evaluateOptions.metrics, abortId }));
    },

    renderPrompt(content: EvaluationContent, id: string): Promise<MetricPrompt> {
      return invoke(undefined, () => remote.renderPrompt(content, id));
    },

    async dispose(): Promise<void> {
      if (calls.closed) return;
      try {
        await invoke(undefined, () => remote.dispose());
      } finally {
        calls.close(new WorkerCrashedError("this worker judge was disposed; create a new one with createWorkerJudge()"));
      }
    },
  };
}
