// The object the judge worker exposes through comlink, and the wire form of its arguments. A
// model file cannot cross the boundary, so the worker opens it from a path, a Blob or bytes.
// AbortSignals travel as ids and the progress callback as a comlink proxy, as in protocol.ts.

import type { LoraAdapter } from "../adapters/lora.js";
import type { MetricDefinition } from "../metrics/definition.js";
import type { MetricResult } from "../metrics/pipeline.js";
import type { EvaluationContent, MetricPrompt } from "../metrics/prompt.js";
import type { LoadProgress } from "../runtime/progress.js";

/** The GGUF model's location for the worker: a file path (Node only), a Blob or File, or bytes in memory. */
export type JudgeModelSource = { path: string } | { blob: Blob; name?: string } | { bytes: Uint8Array; name?: string };

export interface WireJudgeOptions {
  model: JudgeModelSource;
  backend: "cpu" | "webgpu";
  /** Metric definitions, or ids of built-in metrics; all built-ins when omitted. */
  metrics?: (MetricDefinition | string)[];
  /** See `JudgeOptions.chatTemplate`. */
  chatTemplate?: string | null;
  /** Adapters already in memory, by metric id. Structured clone copies their matrices. */
  adapters?: Record<string, LoraAdapter>;
  abortId?: number;
}

/** The caller's progress callback as a comlink proxy; the worker does not await it. */
export type WireJudgeProgressCallback = (progress: LoadProgress) => unknown;

export interface JudgeWorkerApi {
  /** Creates the worker's judge, replacing and disposing any earlier one; returns the registered metric ids. */
  create(options: WireJudgeOptions, onProgress?: WireJudgeProgressCallback): Promise<string[]>;
  /** Registers a metric on the judge; returns the registered metric ids. */
  register(definition: unknown, options: { adapter?: LoraAdapter; abortId?: number }): Promise<string[]>;
  evaluate(content: EvaluationContent, options: { metrics?: string[]; abortId?: number }): Promise<MetricResult[]>;
  renderPrompt(content: EvaluationContent, id: string): Promise<MetricPrompt>;
  /** Aborts the call started with this `abortId`; ids of finished or unknown calls are ignored. */
  abort(abortId: number): void;
  /** Disposes the judge; the worker stays up until the client terminates it. */
  dispose(): Promise<void>;
}
