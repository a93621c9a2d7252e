// The runtime interface shared by the in-thread runtime (`createRuntime`) and the Web Worker client
// (`createWorkerRuntime`). Every value that crosses the worker boundary here is structured-clone
// safe; callbacks travel as comlink proxies.

import type { ModelConfig } from "../model/config.js";
import type { ProgressCallback } from "./progress.js";

/**
 * The model file's location: a URL read with HTTP Range requests (the server must support them),
 * a Blob or File, or bytes already in memory. `name` labels errors and defaults to the URL, the
 * File name or "<memory>".
 */
export type ModelSource = { url: string; name?: string } | { blob: Blob; name?: string } | { bytes: Uint8Array; name?: string };

export interface LoadModelOptions {
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
}

export interface LogitsOptions {
  /** Compute only these tokens' logits (in this order) instead of the full vocabulary. */
  classTokenIds?: number[];
  /** How many of the highest-scoring tokens to list in `top`; 0 when omitted. */
  topK?: number;
  /** "llama.cpp" rounds quantized matrix products' inputs as llama.cpp does (see WebGPUForwardOptions); "none" by default. */
  activationRounding?: "none" | "llama.cpp";
  signal?: AbortSignal;
}

export interface ScoredToken {
  token: number;
  logit: number;
  /** Log-probability over the scored set: the full vocabulary, or `classTokenIds` when given. */
  logProb: number;
}

/** Last-position scores. With `classTokenIds`, entry i belongs to `classTokenIds[i]`. */
export interface LogitsResult {
  logits: Float32Array;
  /** Log-softmax of `logits`. */
  logProbs: Float32Array;
  /** The `topK` highest logits, best first. */
  top: ScoredToken[];
}

export interface RuntimeInfo {
  adapter: { vendor: string; architecture: string; device: string; description: string } | undefined;
  /** Optional WebGPU features the device was created with. */
  features: string[];
  /** True for a CPU implementation of WebGPU (SwiftShader, llvmpipe, lavapipe). */
  isSoftwareAdapter: boolean;
  /** The loaded model's configuration, or undefined before `loadModel`. */
  model: ModelConfig | undefined;
}

/** A WebGPU evaluator with at most one model loaded at a time. */
export interface TokenjudgeRuntime {
  /** Loads a model, replacing (and releasing) the previous one. Resolves with its configuration. */
  loadModel(source: ModelSource, options?: LoadModelOptions): Promise<ModelConfig>;
  /** Runs one forward pass over `tokens` (no cache between calls) and returns last-position scores. */
  logits(tokens: number[], options?: LogitsOptions): Promise<LogitsResult>;
  info(): Promise<RuntimeInfo>;
  /** Releases the model and the GPU device; later calls reject. */
  dispose(): Promise<void>;
}
