// Types shared by the demo's main thread (engine.ts) and its worker (engine-worker.ts). Every value
// here is structured-clone safe; callbacks cross as comlink proxies and AbortSignals as numeric ids.

import type { EvaluationContent, MetricResult } from "../metrics/index.js";

/** The forward pass that evaluates metrics: the WebGPU kernels, or the float32 CPU reference. */
export type EngineBackend = "webgpu" | "cpu";

/** "auto" picks WebGPU when the worker finds an adapter and the model loads there, else the CPU. */
export type BackendPreference = EngineBackend | "auto";

/** The model's origin: a URL (downloaded whole and kept in the Cache API) or a local file. */
export type ModelRequest = { kind: "url"; url: string; name?: string } | { kind: "file"; file: Blob; name?: string };

/**
 * One load progress report.
 * - `download`: bytes fetched from the network (total 0 when the server sends no Content-Length).
 * - `cached`: the file was found in the model cache, so nothing is downloaded.
 * - `weights`: weights read into the CPU model or uploaded to the GPU, in bytes.
 * - `compile`: GPU pipelines created.
 * - `ready`: the model can evaluate.
 */
export interface EngineProgress {
  stage: "download" | "cached" | "weights" | "compile" | "ready";
  loaded: number;
  total: number;
}

/** Result of the worker's WebGPU probe. */
export interface DeviceReport {
  /** True when `navigator.gpu` exists in the worker and returned an adapter. */
  webgpu: boolean;
  /** Reason WebGPU is unusable, when `webgpu` is false. */
  unavailableReason?: string;
  adapter?: { vendor: string; architecture: string; device: string; description: string };
  shaderF16: boolean;
  /** True for a CPU implementation of WebGPU (SwiftShader, llvmpipe, lavapipe). */
  isSoftwareAdapter: boolean;
}

export interface LoadedModelInfo {
  name: string;
  architecture: string;
  bytes: number;
  contextLength: number;
  vocabSize: number;
  backend: EngineBackend;
  /** Reason the CPU backend was used although WebGPU was preferred or available. */
  fallbackReason?: string;
  /** True when the bytes came from the model cache instead of the network. */
  fromCache: boolean;
  /** Reason a downloaded file could not be stored in the model cache (quota, private mode). The model still loads. */
  cacheWarning?: string;
  /** Ids of the registered metrics, built-in ones first. */
  metrics: string[];
}

export interface WireLoadOptions {
  backend: BackendPreference;
  abortId?: number;
}

export interface WireEvaluateOptions {
  metrics?: string[];
  abortId?: number;
}

/** The object the engine worker exposes through comlink. */
export interface EngineWorkerApi {
  probeDevice(): Promise<DeviceReport>;
  load(request: ModelRequest, options: WireLoadOptions, onProgress?: (progress: EngineProgress) => unknown): Promise<LoadedModelInfo>;
  /** Validates and registers a metric definition; resolves with its id. */
  registerMetric(definition: unknown): Promise<string>;
  evaluate(content: EvaluationContent, options: WireEvaluateOptions): Promise<MetricResult[]>;
  /** Aborts the call started with this id; unknown ids are ignored. */
  abort(abortId: number): void;
  dispose(): Promise<void>;
}
