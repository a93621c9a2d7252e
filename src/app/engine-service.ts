// The demo engine's implementation, run inside the engine worker: it fetches or reads the model,
// opens it on WebGPU (GpuJudge) or on the float32 CPU reference (Judge), and evaluates metrics.
// It has no worker-specific code, so tests call it directly in Node.

import { InvalidInputError } from "../errors.js";
import { GGUFFile } from "../gguf/reader.js";
import { isSoftwareAdapterInfo } from "../gpu/context.js";
import { BlobSource } from "../io/blob.js";
import { Judge, type EvaluationContent, type MetricResult } from "../metrics/index.js";
import { createRuntime } from "../runtime/runtime.js";
import type { TokenjudgeRuntime } from "../runtime/types.js";
import type { DeviceReport, EngineBackend, EngineProgress, EngineWorkerApi, LoadedModelInfo, ModelRequest, WireLoadOptions } from "./engine-protocol.js";
import { GpuJudge } from "./gpu-judge.js";
import { fetchModelCached } from "./model-cache.js";

/** The interface both backends offer: `Judge` (CPU) and `GpuJudge` (WebGPU). */
interface MetricEvaluator {
  readonly metricIds: string[];
  register(definition: unknown): unknown;
  evaluate(content: EvaluationContent, options: { metrics?: string[]; signal?: AbortSignal }): Promise<MetricResult[]>;
}

export interface EngineServiceOptions {
  /** Creates the WebGPU runtime; `createRuntime` by default. */
  createRuntime?: () => TokenjudgeRuntime;
  /** The GPU entry point; `navigator.gpu` by default. Tests pass undefined to force the CPU. */
  gpu?: GPU | undefined;
}

/** Creates the engine that the worker exposes through comlink. */
export function createEngineService(options: EngineServiceOptions = {}): EngineWorkerApi {
  const gpu = "gpu" in options ? options.gpu : (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  const makeRuntime = options.createRuntime ?? (() => createRuntime());
  const controllers = new Map<number, AbortController>();

  let evaluator: MetricEvaluator | undefined;
  let runtime: TokenjudgeRuntime | undefined;

  // Registered synchronously when the call arrives, so a later abort message finds its controller.
  const withSignal = async <T>(abortId: number | undefined, run: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> => {
    if (abortId === undefined) return run(undefined);
    const controller = new AbortController();
    controllers.set(abortId, controller);
    try {
      return await run(controller.signal);
    } finally {
      controllers.delete(abortId);
    }
  };

  const releaseModel = async (): Promise<void> => {
    evaluator = undefined;
    const previous = runtime;
    runtime = undefined;
    await previous?.dispose();
  };

  const probeDevice = (): Promise<DeviceReport> => probeWebGPU(gpu);

  const load = async (request: ModelRequest, wire: WireLoadOptions, onProgress?: (progress: EngineProgress) => unknown): Promise<LoadedModelInfo> => {
    // A progress report is best effort: a closed port must not fail the load.
    const report = (stage: EngineProgress["stage"], loaded: number, total: number): void => {
      if (onProgress) Promise.resolve(onProgress({ stage, loaded, total })).catch(() => undefined);
    };

    return withSignal(wire.abortId, async (signal) => {
      await releaseModel();

      const name = request.name ?? (request.kind === "url" ? request.url : ((request.file as Partial<File>).name ?? "<file>"));
      let blob: Blob;
      let fromCache = false;
      let cacheWarning: string | undefined;
      if (request.kind === "url") {
        const fetched = await fetchModelCached(request.url, { signal, onBytes: (loaded, total) => report("download", loaded, total) });
        ({ blob, fromCache, cacheWarning } = fetched);
        if (fromCache) report("cached", blob.size, blob.size);
      } else {
        blob = request.file;
      }

      const file = await GGUFFile.open(new BlobSource(blob, name), { signal });
      let backend: EngineBackend = "cpu";
      let fallbackReason: string | undefined;

      if (wire.backend !== "cpu") {
        const device = await probeDevice();
        if (device.webgpu) {
          const gpuRuntime = makeRuntime();
          try {
            evaluator = await GpuJudge.create({ file, blob, runtime: gpuRuntime, signal, onProgress: (progress) => reportGpuProgress(progress, report) });
            runtime = gpuRuntime;
            backend = "webgpu";
          } catch (error) {
            await gpuRuntime.dispose().catch(() => undefined);
            if (wire.backend === "webgpu" || signal?.aborted) throw error;
            fallbackReason = `the WebGPU backend failed to load the model: ${(error as Error).message}`;
          }
        } else if (wire.backend === "webgpu") {
          throw new InvalidInputError(`load: the WebGPU backend was requested but ${device.unavailableReason ?? "no adapter is available"}; choose the CPU backend`);
        } else {
          fallbackReason = device.unavailableReason;
        }
      }

      if (backend === "cpu") {
        report("weights", 0, blob.size);
        evaluator = await Judge.create({ model: file, backend: "cpu", signal });
        report("weights", blob.size, blob.size);
      }
      report("ready", 1, 1);

      const config = backend === "webgpu" ? (evaluator as GpuJudge).config : (evaluator as Judge).model.config;
      const info: LoadedModelInfo = {
        name,
        architecture: config.architecture,
        bytes: blob.size,
        contextLength: config.contextLength,
        vocabSize: config.vocabSize,
        backend,
        fromCache,
        metrics: evaluator!.metricIds,
      };
      if (fallbackReason !== undefined) info.fallbackReason = fallbackReason;
      if (cacheWarning !== undefined) info.cacheWarning = cacheWarning;
      return info;
    });
  };

  const requireEvaluator = (call: string): MetricEvaluator => {
    if (!evaluator) throw new InvalidInputError(`${call}: no model is loaded; load a model first`);
    return evaluator;
  };

  return {
    probeDevice,
    load,

    async registerMetric(definition) {
      const target = requireEvaluator("registerMetric");
      await target.register(definition);
      return (definition as { id: string }).id;
    },

    evaluate(content, wire) {
      return withSignal(wire.abortId, (signal) => requireEvaluator("evaluate").evaluate(content, { metrics: wire.metrics, signal }));
    },

    abort(abortId) {
      controllers.get(abortId)?.abort();
    },

    dispose: releaseModel,
  };
}

function reportGpuProgress(progress: { status: string; loaded: number; total: number }, report: (stage: EngineProgress["stage"], loaded: number, total: number) => void): void {
  // The runtime's "download" stage reads the GGUF header, which the engine already did.
  if (progress.status === "upload") report("weights", progress.loaded, progress.total);
  else if (progress.status === "compile") report("compile", progress.loaded, progress.total);
}

/** Asks `gpu` for an adapter and describes it. Failures become `unavailableReason` instead of a rejection. */
export async function probeWebGPU(gpu: GPU | undefined): Promise<DeviceReport> {
  const none = { webgpu: false, shaderF16: false, isSoftwareAdapter: false };
  if (!gpu) {
    return { ...none, unavailableReason: "navigator.gpu is undefined: this browser has WebGPU turned off or does not implement it" };
  }

  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (error) {
    return { ...none, unavailableReason: `navigator.gpu.requestAdapter() failed: ${(error as Error).message}` };
  }
  if (!adapter) return { ...none, unavailableReason: "navigator.gpu.requestAdapter() returned no adapter (no usable GPU, or WebGPU is blocked for it)" };

  const info = adapter.info;
  return {
    webgpu: true,
    adapter: { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description },
    shaderF16: adapter.features.has("shader-f16"),
    isSoftwareAdapter: isSoftwareAdapterInfo(info),
  };
}
