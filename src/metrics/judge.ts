// The public evaluator: one backbone, many metrics, one forward pass per metric suffix.

import { LoraReferenceModel } from "../adapters/forward.js";
import { loadMetricAdapter, type AdapterLoadOptions } from "../adapters/load.js";
import type { LoraAdapter } from "../adapters/lora.js";
import { validateAdapterForModel } from "../adapters/validate.js";
import { InvalidInputError, MetricDefinitionError, throwIfAborted } from "../errors.js";
import { GGUFFile } from "../gguf/reader.js";
import { readModelConfig } from "../model/config.js";
import { loadReferenceWeights } from "../reference/weights.js";
import { Tokenizer } from "../tokenizer/index.js";
import { BUILTIN_METRICS } from "./builtins.js";
import { validateMetricDefinition, type MetricDefinition } from "./definition.js";
import { resolveLabelTokens } from "./labels.js";
import { evaluateMetrics, type MetricResult, type PreparedMetric } from "./pipeline.js";
import { buildPromptLayout, contentSlots, renderMetricPrompt, type EvaluationContent, type MetricPrompt, type PromptLayout } from "./prompt.js";

export interface JudgeOptions {
  /** An opened GGUF file, or a path (Node only). */
  model: GGUFFile | string;
  /** Metric definitions, or ids of built-in metrics; all built-ins when omitted. */
  metrics?: (MetricDefinition | string)[];
  /** Only "cpu" (the float32 reference forward pass) is implemented. */
  backend: "cpu";
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

export class Judge {
  private readonly metrics = new Map<string, PreparedMetric>();
  /** Evaluations run one after another: each call waits for the previous one to settle. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly model: LoraReferenceModel,
    readonly tokenizer: Tokenizer,
    private readonly layout: PromptLayout,
    private readonly adapterLoading: AdapterLoadOptions,
  ) {}

  /** Loads the model's weights and tokenizer and registers the metrics, loading and checking their adapters. */
  static async create(options: JudgeOptions): Promise<Judge> {
    if (options.backend !== "cpu") {
      throw new InvalidInputError(`Judge.create: backend ${JSON.stringify(options.backend)} is not available here; use "cpu"`);
    }
    const file = typeof options.model === "string" ? await openModelFile(options.model) : options.model;

    // Weights and tokenizer are copied into memory, so a file opened here is closed afterwards.
    let config;
    let weights;
    try {
      config = readModelConfig(file);
      weights = await loadReferenceWeights(file, config, options.signal);
    } finally {
      if (typeof options.model === "string") await file.source.close?.();
    }
    const tokenizer = Tokenizer.fromGGUF(file);
    const chatTemplate = options.chatTemplate === null ? undefined : (options.chatTemplate ?? file.getOptionalString("tokenizer.chat_template"));
    const layout = buildPromptLayout(tokenizer, chatTemplate);

    const judge = new Judge(new LoraReferenceModel(config, weights), tokenizer, layout, options.adapterLoading ?? {});
    for (const metric of options.metrics ?? Object.keys(BUILTIN_METRICS)) {
      const definition = typeof metric === "string" ? builtinMetric(metric) : metric;
      await judge.register(definition, { adapter: options.adapters?.[definition.id], signal: options.signal });
    }
    return judge;
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
      validateAdapterForModel(adapter, this.model.config);
    }
    this.metrics.set(metric.id, { definition: metric, labels, adapter });
  }

  /** Returns the tokens `evaluate` would run for metric `id` on `content`, for inspection and parity checks. */
  renderPrompt(content: EvaluationContent, id: string): MetricPrompt {
    const metric = this.requireMetric(id);
    return renderMetricPrompt(metric.definition, contentSlots(content), this.tokenizer, this.layout, this.model.config.contextLength);
  }

  /** Evaluates `content` with the requested metrics. Calls queue behind each other; the signal is checked between metrics. */
  evaluate(content: EvaluationContent, options: EvaluateOptions = {}): Promise<MetricResult[]> {
    const run = async (): Promise<MetricResult[]> => {
      throwIfAborted(options.signal);
      const selected = (options.metrics ?? this.metricIds).map((id) => this.requireMetric(id));
      if (selected.length === 0) throw new InvalidInputError("evaluate: no metric requested; register a metric or pass metric ids");
      return evaluateMetrics(this.model, this.tokenizer, this.layout, selected, content, { signal: options.signal });
    };

    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
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

async function openModelFile(path: string): Promise<GGUFFile> {
  // Node only: the file source needs node:fs, so it is imported on demand.
  const { openFileSource } = await import("../io/node-file.js");
  return GGUFFile.open(await openFileSource(path));
}
