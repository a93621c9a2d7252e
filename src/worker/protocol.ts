// The object the worker exposes through comlink, and the wire form of its call options. Callbacks
// arrive as comlink proxies and AbortSignals as ids, because neither can be structured-cloned.

import type { ModelConfig } from "../model/config.js";
import type { LoadProgress } from "../runtime/progress.js";
import type { LogitsResult, ModelSource, RuntimeInfo } from "../runtime/types.js";

export interface WireLoadOptions {
  /** Id that a later `abort(id)` call refers to. */
  abortId?: number;
}

/**
 * The caller's progress callback as a comlink proxy; its returned promise is not awaited. It is a
 * separate argument because comlink converts proxies only at the top level of the arguments.
 */
export type WireProgressCallback = (progress: LoadProgress) => unknown;

export interface WireLogitsOptions {
  classTokenIds?: number[];
  topK?: number;
  activationRounding?: "none" | "llama.cpp";
  abortId?: number;
}

export interface WorkerApi {
  loadModel(source: ModelSource, options: WireLoadOptions, onProgress?: WireProgressCallback): Promise<ModelConfig>;
  logits(tokens: number[], options: WireLogitsOptions): Promise<LogitsResult>;
  info(): Promise<RuntimeInfo>;
  /** Aborts the call started with this `abortId`; ids of finished or unknown calls are ignored. */
  abort(abortId: number): void;
  dispose(): Promise<void>;
}
