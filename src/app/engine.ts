// The one interface the demo page and the chat guardrail talk to. `createEngine()` fetches the
// model through the model cache, or reads a local file, on the page's thread. It runs the model
// in a worker Judge (createWorkerJudge), on WebGPU with the shared prefix and LoRA adapters, or on
// the float32 CPU reference. The worker judge client handles worker crashes, aborts and typed errors.

import { AbortError, InvalidInputError } from "../errors.js";
import { GGUFFile } from "../gguf/reader.js";
import { BlobSource } from "../io/blob.js";
import type { EvaluationContent, MetricResult } from "../metrics/index.js";
import { readModelConfig, type ModelConfig } from "../model/config.js";
import type { LoadProgress } from "../runtime/progress.js";
import { createWorkerJudge, type WorkerJudge, type WorkerJudgeOptions } from "../worker/judge-client.js";
import { probeWebGPU } from "./engine-service.js";
import type { BackendPreference, DeviceReport, Engine, EngineBackend, EngineEvaluateOptions, EngineLoadOptions, EngineProgress, LoadedModelInfo, ModelRequest } from "./engine-types.js";
import { fetchModelCached, type DownloadOptions } from "./model-cache.js";

export type * from "./engine-types.js";

export interface EngineOptions {
  /** The GPU entry point; `navigator.gpu` by default. Pass undefined to force the CPU backend. */
  gpu?: GPU | undefined;
  /** Creates the worker judge; `createWorkerJudge` by default. Tests pass one over a MessageChannel. */
  createJudge?: (options: WorkerJudgeOptions) => Promise<WorkerJudge>;
  /** Fetch function and CacheStorage for URL models; the page's own by default. */
  download?: Pick<DownloadOptions, "fetch" | "caches">;
}

/** The model bytes and where they came from. */
interface ModelBytes {
  name: string;
  blob: Blob;
  fromCache: boolean;
  cacheWarning?: string;
}

/** Order of the progress stages; a report for an earlier stage than the last one is dropped. */
const STAGE_ORDER: EngineProgress["stage"][] = ["download", "cached", "weights", "compile", "ready"];

/** Creates the engine. No worker starts until the first `load`. */
export function createEngine(options: EngineOptions = {}): Engine {
  const gpu = "gpu" in options ? options.gpu : (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  const createJudge = options.createJudge ?? createWorkerJudge;

  let judge: WorkerJudge | undefined;
  /** Counts `load` calls, so a load that a newer one overtook discards its judge. */
  let generation = 0;
  let disposed = false;

  const assertUsable = (): void => {
    if (disposed) throw new InvalidInputError("this engine was disposed; create a new one with createEngine()");
  };

  const requireJudge = (call: string): WorkerJudge => {
    assertUsable();
    if (judge === undefined) throw new InvalidInputError(`${call}: no model is loaded; load a model first`);
    return judge;
  };

  const releaseJudge = async (): Promise<void> => {
    const previous = judge;
    judge = undefined;
    await previous?.dispose().catch(() => undefined);
  };

  const load = async (request: ModelRequest, loadOptions: EngineLoadOptions = {}): Promise<LoadedModelInfo> => {
    assertUsable();
    const current = ++generation;
    const { signal } = loadOptions;
    const preference: BackendPreference = loadOptions.backend ?? "auto";
    const progress = monotonicProgress(loadOptions.onProgress);

    // The previous model is released first, so it does not hold GPU memory while the new one uploads.
    await releaseJudge();
    let bytes: ModelBytes;
    let config: ModelConfig;
    let opened: OpenedJudge;
    try {
      bytes = await readModel(request, signal, progress.report, options.download);
      config = await readConfig(bytes, signal);
      opened = await openJudge(bytes, preference, gpu, createJudge, signal, progress.report);
    } finally {
      progress.settle();
    }

    if (current !== generation || disposed) {
      await opened.judge.dispose().catch(() => undefined);
      throw new AbortError(`loading ${bytes.name} was superseded by a newer load or by dispose()`);
    }
    judge = opened.judge;

    const info: LoadedModelInfo = {
      name: bytes.name,
      architecture: config.architecture,
      bytes: bytes.blob.size,
      contextLength: config.contextLength,
      vocabSize: config.vocabSize,
      backend: opened.backend,
      fromCache: bytes.fromCache,
      metrics: opened.judge.metricIds,
    };
    if (opened.fallbackReason !== undefined) info.fallbackReason = opened.fallbackReason;
    if (bytes.cacheWarning !== undefined) info.cacheWarning = bytes.cacheWarning;
    return info;
  };

  return {
    async probeDevice(): Promise<DeviceReport> {
      assertUsable();
      return probeWebGPU(gpu);
    },

    load,

    async registerMetric(definition: unknown): Promise<string> {
      await requireJudge("registerMetric").register(definition);
      return (definition as { id: string }).id;
    },

    async evaluate(content: EvaluationContent, evaluateOptions: EngineEvaluateOptions = {}): Promise<MetricResult[]> {
      return requireJudge("evaluate").evaluate(content, evaluateOptions);
    },

    async dispose(): Promise<void> {
      if (disposed) return;
      disposed = true;
      await releaseJudge();
    },
  };
}

/** Downloads a URL model through the model cache, or takes a local file as it is. */
async function readModel(
  request: ModelRequest,
  signal: AbortSignal | undefined,
  report: (stage: EngineProgress["stage"], loaded: number, total: number) => void,
  download: EngineOptions["download"],
): Promise<ModelBytes> {
  if (request.kind === "file") {
    const name = request.name ?? ((request.file as Partial<File>).name || "<file>");
    return { name, blob: request.file, fromCache: false };
  }

  const fetched = await fetchModelCached(request.url, { ...download, signal, onBytes: (loaded, total) => report("download", loaded, total) });
  if (fetched.fromCache) report("cached", fetched.blob.size, fetched.blob.size);
  const bytes: ModelBytes = { name: request.name ?? request.url, blob: fetched.blob, fromCache: fetched.fromCache };
  if (fetched.cacheWarning !== undefined) bytes.cacheWarning = fetched.cacheWarning;
  return bytes;
}

/**
 * Reads the model's configuration from the GGUF header. This rejects a file that is not a GGUF
 * model, or one of an unsupported architecture, before a worker starts.
 */
async function readConfig(bytes: ModelBytes, signal: AbortSignal | undefined): Promise<ModelConfig> {
  const file = await GGUFFile.open(new BlobSource(bytes.blob, bytes.name), { signal });
  return readModelConfig(file);
}

interface OpenedJudge {
  judge: WorkerJudge;
  backend: EngineBackend;
  fallbackReason?: string;
}

/**
 * Creates the worker judge on WebGPU when `preference` allows it and an adapter exists, else on the
 * CPU. With "auto", a failed WebGPU load falls back to the CPU and stores the error in `fallbackReason`.
 */
async function openJudge(
  bytes: ModelBytes,
  preference: BackendPreference,
  gpu: GPU | undefined,
  createJudge: (options: WorkerJudgeOptions) => Promise<WorkerJudge>,
  signal: AbortSignal | undefined,
  report: (stage: EngineProgress["stage"], loaded: number, total: number) => void,
): Promise<OpenedJudge> {
  const model = { blob: bytes.blob, name: bytes.name };
  let fallbackReason: string | undefined;

  if (preference !== "cpu") {
    const device = await probeWebGPU(gpu);
    if (device.webgpu) {
      try {
        const judge = await createJudge({ model, backend: "webgpu", signal, onProgress: (progress) => reportJudgeProgress(progress, report) });
        report("ready", 1, 1);
        return { judge, backend: "webgpu" };
      } catch (error) {
        if (preference === "webgpu" || signal?.aborted) throw error;
        fallbackReason = `the WebGPU backend failed to load the model: ${(error as Error).message}`;
      }
    } else if (preference === "webgpu") {
      throw new InvalidInputError(`load: the WebGPU backend was requested but ${device.unavailableReason ?? "no adapter is available"}; choose the CPU backend`);
    } else {
      fallbackReason = device.unavailableReason;
    }
  }

  // The CPU judge reports no progress of its own, so the weights stage spans the whole load.
  report("weights", 0, bytes.blob.size);
  const judge = await createJudge({ model, backend: "cpu", signal });
  report("weights", bytes.blob.size, bytes.blob.size);
  report("ready", 1, 1);
  return fallbackReason === undefined ? { judge, backend: "cpu" } : { judge, backend: "cpu", fallbackReason };
}

/** Maps the WebGPU judge's reports to engine stages. Its "download" stage reads the GGUF header, which the engine already did. */
function reportJudgeProgress(progress: LoadProgress, report: (stage: EngineProgress["stage"], loaded: number, total: number) => void): void {
  if (progress.status === "upload") report("weights", progress.loaded, progress.total);
  else if (progress.status === "compile") report("compile", progress.loaded, progress.total);
}

/**
 * Wraps `callback` so reports never go backwards (an earlier stage, or fewer bytes in the same
 * stage) and stop once the load has settled. The worker's reports travel on their own port, so
 * they can arrive after the load resolved.
 */
function monotonicProgress(callback: ((progress: EngineProgress) => void) | undefined): {
  report: (stage: EngineProgress["stage"], loaded: number, total: number) => void;
  settle: () => void;
} {
  let last: EngineProgress | undefined;
  let settled = false;
  return {
    report(stage, loaded, total) {
      if (settled || callback === undefined) return;
      if (last !== undefined) {
        const order = STAGE_ORDER.indexOf(stage) - STAGE_ORDER.indexOf(last.stage);
        if (order < 0 || (order === 0 && loaded < last.loaded) || last.stage === "ready") return;
      }
      last = { stage, loaded, total };
      callback(last);
    },
    settle() {
      settled = true;
    },
  };
}
