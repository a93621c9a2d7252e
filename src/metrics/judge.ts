// The public evaluator: one backbone, many metrics. The CPU backend runs one reference forward
// pass per metric suffix; the WebGPU backend runs every metric suffix in one batched pass
// (gpu-backend.ts).

import { LoraReferenceModel } from "../adapters/forward.js";
import { loadMetricAdapter, type AdapterLoadOptions } from "../adapters/load.js";
import type { LoraAdapter } from "../adapters/lora.js";
import { validateAdapterForModel } from "../adapters/validate.js";
import { InvalidInputError, MetricDefinitionError, throwIfAborted } from "../errors.js";
import { GGUFFile } from "../gguf/reader.js";
import { GPUContext } from "../gpu/context.js";
import { readModelConfig, type ModelConfig } from "../model/config.js";
import type { ProgressCallback } from "../runtime/progress.js";
import { loadReferenceWeights } from "../reference/weights.js";
import { Tokenizer } from "../tokenizer/index.js";
import { BUILTIN_METRICS } from "./builtins.js";
import { validateMetricDefinition, type MetricDefinition } from "./definition.js";
import { resolveLabelTokens } from "./labels.js";
import { WebGPUJudgeBackend } from "./gpu-backend.js";
import { evaluateMetrics, type MetricResult, type PreparedMetric } from "./pipeline.js";
import { buildPromptLayout, contentSlots, renderMetricPrompt, type EvaluationContent, type MetricPrompt, type PromptLayout } from "./prompt.js";

export interface JudgeOptions {
  /** An opened GGUF file, or a path (Node only). */
  model: GGUFFile | string;
  /** Metric definitions, or ids of built-in metrics; all built-ins when omitted. */
  metrics?: (MetricDefinition | string)[];
  /** "cpu": the float32 reference forward pass. "webgpu": the WebGPU kernels, all metric suffixes batched. */
  backend: "cpu" | "webgpu";
  /**
   * WebGPU backend only: the context to upload the weights to. It stays the caller's to dispose.
   * When omitted, the judge creates one and `dispose()` destroys it.
   */
  context?: GPUContext;
  /** WebGPU backend only: receives the weight upload and pipeline compilation reports, then "ready". */
  onProgress?: ProgressCallback;
  /**
   * Overrides the model's `tokenizer.chat_template`; null forces the plain layout even when the
   * model has a template.
   */
  chatTemplate?: string | null;
  /** Adapters already in memory, by metric id; they replace loading from the definition's url or file. */
  adapters?: Record<string, LoraAdapter>;
  /** Cache and fetch function for url adapters. */
  adapterLoading?: AdapterLoadOptions;
  signal?: AbortSignal;
}

export interface EvaluateOptions {
  /** Ids of the registered metrics to run; all of them when omitted. */
  metrics?: string[];
  signal?: AbortSignal;
}

/** The methods that `Judge` and the worker-backed judge (`createWorkerJudge`) share. */
export interface JudgeInterface {
  /** Ids of the registered metrics, in registration order. */
  readonly metricIds: string[];
  register(definition: unknown, options?: { adapter?: LoraAdapter; signal?: AbortSignal }): Promise<void>;
  evaluate(content: EvaluationContent, options?: EvaluateOptions): Promise<MetricResult[]>;
  dispose(): void | Promise<void>;
}

/** The engine behind a judge: the CPU reference model, or the WebGPU backend and whether the judge owns its context. */
type JudgeEngine = { kind: "cpu"; model: LoraReferenceModel } | { kind: "webgpu"; backend: WebGPUJudgeBackend; ownedContext: GPUContext | undefined };

export class Judge implements JudgeInterface {
  private readonly metrics = new Map<string, PreparedMetric>();
  /** Evaluations run one after another: each call waits for the previous one to settle. */
  private queue: Promise<unknown> = Promise.resolve();
  private disposed = false;

  private constructor(
    readonly config: ModelConfig,
    private readonly engine: JudgeEngine,
    readonly tokenizer: Tokenizer,
    private readonly layout: PromptLayout,
    private readonly adapterLoading: AdapterLoadOptions,
  ) {}

  /** Loads the model's weights and tokenizer and registers the metrics, loading and checking their adapters. */
  static async create(options: JudgeOptions): Promise<Judge> {
    if (options.backend !== "cpu" && options.backend !== "webgpu") {
      throw new InvalidInputError(`Judge.create: backend ${JSON.stringify(options.backend)} is not available; use "cpu" or "webgpu"`);
    }
    if (options.backend === "cpu" && options.context !== undefined) {
      throw new InvalidInputError('Judge.create: a GPU context was passed with backend "cpu"; pass backend "webgpu" or drop the context');
    }
    const file = typeof options.model === "string" ? await openModelFile(options.model) : options.model;

    // Weights and tokenizer are copied into memory or uploaded, so a file opened here is closed afterwards.
    let config: ModelConfig;
    let engine: JudgeEngine;
    try {
      config = readModelConfig(file);
      engine = options.backend === "cpu" ? { kind: "cpu", model: new LoraReferenceModel(config, await loadReferenceWeights(file, config, options.signal)) } : await loadWebGPUEngine(file, options);
    } finally {
      if (typeof options.model === "string") await file.source.close?.();
    }
    const tokenizer = Tokenizer.fromGGUF(file);
    const chatTemplate = options.chatTemplate === null ? undefined : (options.chatTemplate ?? file.getOptionalString("tokenizer.chat_template"));
    const layout = buildPromptLayout(tokenizer, chatTemplate);

    const judge = new Judge(config, engine, tokenizer, layout, options.adapterLoading ?? {});
    try {
      for (const metric of options.metrics ?? Object.keys(BUILTIN_METRICS)) {
        const definition = typeof metric === "string" ? builtinMetric(metric) : metric;
        await judge.register(definition, { adapter: options.adapters?.[definition.id], signal: options.signal });
      }
    } catch (error) {
      judge.dispose();
      throw error;
    }
    return judge;
  }

  /** The CPU reference model. Throws `InvalidInputError` on a judge with the WebGPU backend, which has none. */
  get model(): LoraReferenceModel {
    if (this.engine.kind !== "cpu") {
      throw new InvalidInputError('judge.model is the CPU reference model, and this judge uses backend "webgpu"; read judge.webgpu instead');
    }
    return this.engine.model;
  }

  /** The WebGPU backend, or undefined on a CPU judge. */
  get webgpu(): WebGPUJudgeBackend | undefined {
    return this.engine.kind === "webgpu" ? this.engine.backend : undefined;
  }

  get backend(): "cpu" | "webgpu" {
    return this.engine.kind;
  }

  /** Ids of the registered metrics, in registration order. */
  get metricIds(): string[] {
    return [...this.metrics.keys()];
  }

  /**
   * Validates `definition`, resolves its label tokens and loads its adapter (or takes `adapter`),
   * replacing any metric with the same id.
   */
  async register(definition: unknown, options: { adapter?: LoraAdapter; signal?: AbortSignal } = {}): Promise<void> {
    const metric = validateMetricDefinition(definition);
    const labels = resolveLabelTokens(metric, this.tokenizer);

    let adapter = options.adapter;
    if (adapter === undefined && metric.adapter !== undefined) {
      adapter = await loadMetricAdapter(metric.adapter, { ...this.adapterLoading, signal: options.signal });
    }
    if (adapter !== undefined) {
      if (metric.adapter === undefined) {
        throw new MetricDefinitionError(metric.id, "adapter", "an adapter was passed but the definition has no adapter field; add one that states its mode");
      }
      validateAdapterForModel(adapter, this.config);
    }
    this.assertUsable();

    // The WebGPU backend uploads the adapters of every registered metric once, as batch slots.
    if (this.engine.kind === "webgpu") {
      const adapters = [...this.metrics.values()].filter((other) => other.definition.id !== metric.id).map((other) => other.adapter);
      if (adapter !== undefined) adapters.push(adapter);
      this.engine.backend.useAdapters(adapters.filter((other): other is LoraAdapter => other !== undefined));
    }
    this.metrics.set(metric.id, { definition: metric, labels, adapter });
  }

  /** Returns the tokens `evaluate` would run for metric `id` on `content`, for inspection and parity checks. */
  renderPrompt(content: EvaluationContent, id: string): MetricPrompt {
    const metric = this.requireMetric(id);
    return renderMetricPrompt(metric.definition, contentSlots(content), this.tokenizer, this.layout, this.config.contextLength, metric.labels.prefixTokens);
  }

  /**
   * Evaluates `content` with the requested metrics. Calls queue behind each other. The signal is
   * checked between metrics on the CPU, and before and after each GPU pass on WebGPU.
   */
  evaluate(content: EvaluationContent, options: EvaluateOptions = {}): Promise<MetricResult[]> {
    const run = async (): Promise<MetricResult[]> => {
      this.assertUsable();
      throwIfAborted(options.signal);
      const selected = (options.metrics ?? this.metricIds).map((id) => this.requireMetric(id));
      if (selected.length === 0) throw new InvalidInputError("evaluate: no metric requested; register a metric or pass metric ids");
      if (this.engine.kind === "webgpu") return this.engine.backend.evaluate(this.tokenizer, this.layout, selected, content, options.signal);
      return evaluateMetrics(this.engine.model, this.tokenizer, this.layout, selected, content, { signal: options.signal });
    };

    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /**
   * Frees the GPU weights and adapters, and the GPU context when the judge created it. A CPU judge
   * has nothing to free. Later calls throw `InvalidInputError`. Safe to call twice.
   */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.engine.kind !== "webgpu") return;
    this.engine.backend.dispose();
    this.engine.ownedContext?.dispose();
  }

  private assertUsable(): void {
    if (this.disposed) throw new InvalidInputError("this Judge was disposed; create a new one with Judge.create()");
  }

  private requireMetric(id: string): PreparedMetric {
    const metric = this.metrics.get(id);
    if (metric === undefined) throw new InvalidInputError(`evaluate: metric "${id}" is not registered; registered metrics are ${this.metricIds.join(", ")}`);
    return metric;
  }
}

function builtinMetric(id: string): MetricDefinition {
  const metric = BUILTIN_METRICS[id];
  if (metric === undefined) throw new InvalidInputError(`Judge.create: no built-in metric "${id}"; built-in metrics are ${Object.keys(BUILTIN_METRICS).join(", ")}`);
  return metric;
}

/** Uploads the model to `options.context`, or to a new context that the judge then owns. */
async function loadWebGPUEngine(file: GGUFFile, options: JudgeOptions): Promise<JudgeEngine> {
  const ownedContext = options.context === undefined ? await GPUContext.create() : undefined;
  const context = options.context ?? ownedContext!;
  try {
    const backend = await WebGPUJudgeBackend.load(file, { context, onProgress: options.onProgress, signal: options.signal });
    return { kind: "webgpu", backend, ownedContext };
  } catch (error) {
    ownedContext?.dispose();
    throw error;
  }
}

async function openModelFile(path: string): Promise<GGUFFile> {
  // Node only: the file source needs node:fs, so it is imported on demand.
  const { openFileSource } = await import("../io/node-file.js");
  return GGUFFile.open(await openFileSource(path));
}
