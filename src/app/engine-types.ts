// Types of the demo engine (engine.ts) that the page, the chat guardrail and the tests share.

import type { EvaluationContent, MetricResult } from "../metrics/index.js";

/** The forward pass that evaluates metrics: the WebGPU kernels, or the float32 CPU reference. */
export type EngineBackend = "webgpu" | "cpu";

/** "auto" picks WebGPU when the page finds an adapter and the model loads there, else the CPU. */
export type BackendPreference = EngineBackend | "auto";

/** The model's origin: a URL (downloaded whole and kept in the Cache API) or a local file. */
export type ModelRequest = { kind: "url"; url: string; name?: string } | { kind: "file"; file: Blob; name?: string };

/**
 * One load progress report. Reports of one load never go backwards.
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

/** Result of the WebGPU probe. */
export interface DeviceReport {
  /** True when `navigator.gpu` exists and returned an adapter. */
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
  /** Reports whether the page finds a WebGPU adapter, and describes it. */
  probeDevice(): Promise<DeviceReport>;
  /** Loads a model, replacing the previous one, and registers the built-in metrics. */
  load(request: ModelRequest, options?: EngineLoadOptions): Promise<LoadedModelInfo>;
  /**
   * Validates and registers a custom metric definition on the loaded model, loading its LoRA
   * adapter when it names one; resolves with its id.
   */
  registerMetric(definition: unknown): Promise<string>;
  /** Disposes the loaded model and terminates its worker; later calls reject. */
  dispose(): Promise<void>;
}
