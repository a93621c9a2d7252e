// The model host of the extension, run by the offscreen document. It loads the bundled demo model
// into a worker Judge (createWorkerJudge): the WebGPU backend when the offscreen document gets an
// adapter, otherwise (or when the WebGPU load fails) the float32 CPU reference. Custom metrics
// with url adapters load their adapter through an AdapterCache, which keeps verified adapter bytes
// in the extension's IndexedDB, so later loads skip the download. Requests run on the model one at
// a time, but adapter downloads run before a request joins that queue, each under a time and size
// limit.

import type { AdapterByteStore } from "../../src/adapters/load.js";
import { loadMetricAdapter } from "../../src/adapters/load.js";
import type { LoraAdapter } from "../../src/adapters/lora.js";
import { probeWebGPU } from "../../src/app/engine-service.js";
import { IOError, MetricDefinitionError } from "../../src/errors.js";
import type { MetricDefinition, MetricResult } from "../../src/metrics/index.js";
import { createWorkerJudge, type WorkerJudge, type WorkerJudgeOptions } from "../../src/worker/judge-client.js";
import { toErrorReport, type ErrorReport, type EvaluationReply, type ExtensionBackend, type HostStatus, type MetricFailure, type RegistrationReply } from "./messages.js";

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
  /** Milliseconds an adapter download may take, DEFAULT_ADAPTER_DOWNLOAD_TIMEOUT_MS (60 s) by default. */
  adapterDownloadTimeoutMs?: number;
  /** Max bytes of one adapter download, DEFAULT_ADAPTER_DOWNLOAD_MAX_BYTES (1 GiB) by default. */
  adapterDownloadMaxBytes?: number;
}

/** The adapter of one custom metric, or why it failed to load. */
type AdapterOutcome = { adapter: LoraAdapter | undefined } | { error: unknown };

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
  /** Adapter downloads in progress, keyed by the JSON text of the adapter field. */
  private readonly adapterLoads = new Map<string, Promise<LoraAdapter>>();
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
  async register(customMetrics: MetricDefinition[]): Promise<RegistrationReply> {
    const adapters = await this.loadAdapters(customMetrics);
    return this.enqueue(async (judge) => {
      for (const definition of customMetrics) {
        const adapter = adapters.get(definition.id)!;
        if ("error" in adapter) throw adapter.error;
        await this.registerOne(judge, definition, adapter.adapter);
      }
      return { ok: true, metricIds: judge.metricIds };
    });
  }

  /**
   * Evaluates `text` as the `input` slot with `metrics`, first registering those of `customMetrics`
   * that `metrics` selects and that are new or changed. A metric that fails, for example because its
   * adapter does not load or its template needs a slot other than `input`, is listed in `failures`
   * while the other metrics are still evaluated. The reply is `{ ok: false }` only when every metric fails.
   */
  async evaluate(text: string, metrics: string[], customMetrics: MetricDefinition[]): Promise<EvaluationReply> {
    const selected = customMetrics.filter((definition) => metrics.includes(definition.id));
    // Adapters download outside the queue, so a slow download delays only the checks that use it.
    const adapters = await this.loadAdapters(selected);

    return this.enqueue(async (judge, backend) => {
      const failures: MetricFailure[] = [];
      for (const definition of selected) {
        const adapter = adapters.get(definition.id)!;
        try {
          if ("error" in adapter) throw adapter.error;
          await this.registerOne(judge, definition, adapter.adapter);
        } catch (error) {
          failures.push({ metric: definition.id, error: toErrorReport(error) });
        }
      }

      const remaining = metrics.filter((id) => !failures.some((failure) => failure.metric === id));
      const evaluated = await this.evaluateEach(judge, text, remaining);
      failures.push(...evaluated.failures);
      if (evaluated.results.length === 0 && failures.length > 0) return { ok: false, error: failures[0]!.error };
      return failures.length === 0 ? { ok: true, backend, results: evaluated.results } : { ok: true, backend, results: evaluated.results, failures };
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

  /**
   * Evaluates `metrics` in one call. When that fails and there are several metrics, evaluates each
   * one alone, so one failing metric costs a forward pass per metric instead of hiding the others.
   */
  private async evaluateEach(judge: WorkerJudge, text: string, metrics: string[]): Promise<{ results: MetricResult[]; failures: MetricFailure[] }> {
    if (metrics.length === 0) return { results: [], failures: [] };
    try {
      return { results: await judge.evaluate({ input: text }, { metrics }), failures: [] };
    } catch (error) {
      if (metrics.length === 1) return { results: [], failures: [{ metric: metrics[0]!, error: toErrorReport(error) }] };
    }

    const results: MetricResult[] = [];
    const failures: MetricFailure[] = [];
    for (const metric of metrics) {
      try {
        results.push(...(await judge.evaluate({ input: text }, { metrics: [metric] })));
      } catch (error) {
        failures.push({ metric, error: toErrorReport(error) });
      }
    }
    return { results, failures };
  }

  /** Registers `definition` with `adapter` unless the same definition is registered already. */
  private async registerOne(judge: WorkerJudge, definition: MetricDefinition, adapter: LoraAdapter | undefined): Promise<void> {
    const text = JSON.stringify(definition);
    if (this.registered.get(definition.id) === text) return;
    // loadAdapters skips a definition that was registered then, but another request may have
    // replaced it since, so its adapter is loaded here.
    if (adapter === undefined && definition.adapter !== undefined) adapter = await this.loadAdapter(definition);
    await judge.register(definition, { adapter });
    this.registered.set(definition.id, text);
  }

  /** Loads the adapters of the definitions that are not registered yet, keyed by metric id. Each load catches its own error and stores it in the map. */
  private async loadAdapters(definitions: MetricDefinition[]): Promise<Map<string, AdapterOutcome>> {
    const outcomes = new Map<string, AdapterOutcome>();
    await Promise.all(
      definitions.map(async (definition) => {
        try {
          const registered = this.registered.get(definition.id) === JSON.stringify(definition);
          outcomes.set(definition.id, { adapter: registered ? undefined : await this.loadAdapter(definition) });
        } catch (error) {
          outcomes.set(definition.id, { error });
        }
      }),
    );
    return outcomes;
  }

  /** Loads the adapter of `definition`. Concurrent requests for the same adapter share one download. */
  private loadAdapter(definition: MetricDefinition): Promise<LoraAdapter | undefined> {
    const adapter = definition.adapter;
    if (adapter === undefined) return Promise.resolve(undefined);
    if (adapter.url === undefined) {
      return Promise.reject(new MetricDefinitionError(definition.id, "adapter.file", "an extension cannot read local files; serve the adapter over https and set adapter.url instead"));
    }

    const key = JSON.stringify(adapter);
    let pending = this.adapterLoads.get(key);
    if (pending === undefined) {
      pending = loadMetricAdapter(adapter, {
        cache: this.options.adapterCache,
        fetch: this.options.fetch,
        downloadTimeoutMs: this.options.adapterDownloadTimeoutMs,
        downloadMaxBytes: this.options.adapterDownloadMaxBytes,
      });
      this.adapterLoads.set(key, pending);
      const forget = (): void => void this.adapterLoads.delete(key);
      pending.then(forget, forget);
    }
    return pending;
  }
}

/** Returns the last path segment of `url`, for the model's name in messages. */
function modelName(url: string): string {
  const path = url.split(/[?#]/)[0]!;
  return path.slice(path.lastIndexOf("/") + 1) || url;
}
