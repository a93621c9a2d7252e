// The model host of the extension, run by the offscreen document. It loads the bundled demo model
// into a worker Judge (createWorkerJudge): the WebGPU backend when the offscreen document gets an
// adapter, otherwise (or when the WebGPU load fails) the float32 CPU reference. Custom metrics
// with url adapters load their adapter through an AdapterCache, which keeps verified adapter bytes
// in the extension's IndexedDB, so later loads skip the download. Requests run one at a time.

import type { AdapterByteStore } from "../../src/adapters/load.js";
import { loadMetricAdapter } from "../../src/adapters/load.js";
import type { LoraAdapter } from "../../src/adapters/lora.js";
import { probeWebGPU } from "../../src/app/engine-service.js";
import { IOError, MetricDefinitionError } from "../../src/errors.js";
import type { MetricDefinition } from "../../src/metrics/index.js";
import { createWorkerJudge, type WorkerJudge, type WorkerJudgeOptions } from "../../src/worker/judge-client.js";
import { toErrorReport, type ErrorReport, type EvaluationReply, type ExtensionBackend, type HostStatus, type RegistrationReply } from "./messages.js";

export interface JudgeHostOptions {
  /** URL of the GGUF model inside the extension. */
  modelUrl: string;
  /** The GPU entry point; `navigator.gpu` by default. Pass undefined to force the CPU backend. */
  gpu?: GPU | undefined;
  /** Creates the worker judge; `createWorkerJudge` by default. */
  createJudge?: (options: WorkerJudgeOptions) => Promise<WorkerJudge>;
  /** Stores downloaded adapter bytes; none by default, so every load downloads. */
  adapterCache?: AdapterByteStore;
  fetch?: typeof fetch;
}

interface LoadedJudge {
  judge: WorkerJudge;
  backend: ExtensionBackend;
  fallbackReason?: string;
}

export class JudgeHost {
  private readonly loading: Promise<LoadedJudge>;
  private webgpu: boolean | undefined;
  /** The load's outcome, once it has settled. */
  private outcome: { loaded: LoadedJudge } | { error: unknown } | undefined;
  /** Custom metrics registered on the judge, as the JSON text of their definitions. */
  private readonly registered = new Map<string, string>();
  /** Requests run one after another: each waits for the previous one to settle. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly options: JudgeHostOptions) {
    this.loading = this.load();
    this.loading.then(
      (loaded) => (this.outcome = { loaded }),
      (error: unknown) => (this.outcome = { error }),
    );
  }

  /** Starts loading the model right away. */
  static start(options: JudgeHostOptions): JudgeHost {
    return new JudgeHost(options);
  }

  /** Returns the state without waiting: "loading" until the model has loaded or failed. */
  currentStatus(): HostStatus {
    if (this.outcome === undefined) return { state: "loading", webgpu: this.webgpu };
    if ("error" in this.outcome) return { state: "failed", webgpu: this.webgpu, error: toErrorReport(this.outcome.error) };

    const { judge, backend, fallbackReason } = this.outcome.loaded;
    const status: HostStatus = { state: "ready", backend, webgpu: this.webgpu, metricIds: judge.metricIds };
    if (fallbackReason !== undefined) status.fallbackReason = fallbackReason;
    return status;
  }

  /** Waits until the model has loaded or failed, and returns the state. */
  async status(): Promise<HostStatus> {
    await this.loading.catch(() => undefined);
    return this.currentStatus();
  }

  /** Registers the custom metrics that are new or changed since the last call, loading their adapters. */
  register(customMetrics: MetricDefinition[]): Promise<RegistrationReply> {
    return this.enqueue(async (judge) => {
      await this.registerCustomMetrics(judge, customMetrics);
      return { ok: true, metricIds: judge.metricIds };
    });
  }

  /**
   * Registers the custom metrics that are new or changed since the last call, then evaluates `text`
   * as the `input` slot with `metrics`.
   */
  evaluate(text: string, metrics: string[], customMetrics: MetricDefinition[]): Promise<EvaluationReply> {
    return this.enqueue(async (judge, backend) => {
      await this.registerCustomMetrics(judge, customMetrics);
      const results = await judge.evaluate({ input: text }, { metrics });
      return { ok: true, backend, results };
    });
  }

  /** Runs `task` on the loaded judge after the previous request settles. Errors become `{ ok: false }` replies. */
  private enqueue<T>(task: (judge: WorkerJudge, backend: ExtensionBackend) => Promise<T>): Promise<T | { ok: false; error: ErrorReport }> {
    const run = async (): Promise<T | { ok: false; error: ErrorReport }> => {
      try {
        const { judge, backend } = await this.loading;
        return await task(judge, backend);
      } catch (error) {
        return { ok: false, error: toErrorReport(error) };
      }
    };
    const reply = this.queue.then(run, run);
    this.queue = reply;
    return reply;
  }

  private async load(): Promise<LoadedJudge> {
    const gpu = "gpu" in this.options ? this.options.gpu : (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
    const createJudge = this.options.createJudge ?? createWorkerJudge;
    const device = await probeWebGPU(gpu);
    this.webgpu = device.webgpu;
    const model = { blob: await this.readModel(), name: modelName(this.options.modelUrl) };

    let fallbackReason = device.unavailableReason;
    if (device.webgpu) {
      try {
        return { judge: await createJudge({ model, backend: "webgpu" }), backend: "webgpu" };
      } catch (error) {
        fallbackReason = `the WebGPU backend failed to load the model (${toErrorReport(error).message})`;
      }
    }
    const judge = await createJudge({ model, backend: "cpu" });
    return fallbackReason === undefined ? { judge, backend: "cpu" } : { judge, backend: "cpu", fallbackReason };
  }

  private async readModel(): Promise<Blob> {
    const url = this.options.modelUrl;
    const fetchFunction = this.options.fetch ?? globalThis.fetch;
    let response: Response;
    try {
      response = await fetchFunction(url);
    } catch (cause) {
      throw new IOError(`${url}: failed to read the bundled model (${(cause as Error).message}); rebuild the extension with npm run build:extension and reload it`, { cause });
    }
    if (!response.ok) {
      throw new IOError(`${url}: reading the bundled model failed with HTTP ${response.status}; rebuild the extension with npm run build:extension and reload it`);
    }
    return response.blob();
  }

  private async registerCustomMetrics(judge: WorkerJudge, definitions: MetricDefinition[]): Promise<void> {
    for (const definition of definitions) {
      const text = JSON.stringify(definition);
      if (this.registered.get(definition.id) === text) continue;

      let adapter: LoraAdapter | undefined;
      if (definition.adapter !== undefined) {
        if (definition.adapter.url === undefined) {
          throw new MetricDefinitionError(definition.id, "adapter.file", "an extension cannot read local files; serve the adapter over https and set adapter.url instead");
        }
        adapter = await loadMetricAdapter(definition.adapter, { cache: this.options.adapterCache, fetch: this.options.fetch });
      }
      await judge.register(definition, { adapter });
      this.registered.set(definition.id, text);
    }
  }
}

/** Returns the last path segment of `url`, for the model's name in messages. */
function modelName(url: string): string {
  const path = url.split(/[?#]/)[0]!;
  return path.slice(path.lastIndexOf("/") + 1) || url;
}
