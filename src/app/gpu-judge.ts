// Metric evaluation on the WebGPU runtime, for the demo worker. It renders each metric's prompt
// exactly as `Judge` does and reads the class-token logits from one GPU forward pass over the whole
// prompt. Unlike the CPU `Judge`, it shares no prefill between metrics (the runtime keeps no KV
// cache between calls) and runs no LoRA adapter.

import { GPUUnsupportedError, InvalidInputError, throwIfAborted } from "../errors.js";
import type { GGUFFile } from "../gguf/reader.js";
import { BUILTIN_METRICS } from "../metrics/builtins.js";
import { calibratedProbabilities, decide } from "../metrics/calibration.js";
import { validateMetricDefinition, type MetricDefinition } from "../metrics/definition.js";
import { resolveLabelTokens, type ResolvedLabels } from "../metrics/labels.js";
import type { MetricResult } from "../metrics/pipeline.js";
import { buildPromptLayout, contentSlots, renderMetricPrompt, type EvaluationContent, type PromptLayout } from "../metrics/prompt.js";
import type { ModelConfig } from "../model/config.js";
import type { LoadProgress } from "../runtime/progress.js";
import type { TokenjudgeRuntime } from "../runtime/types.js";
import { Tokenizer } from "../tokenizer/index.js";

interface GpuMetric {
  definition: MetricDefinition;
  labels: ResolvedLabels;
}

export interface GpuJudgeOptions {
  /** The model file, opened for its metadata (tokenizer, chat template). */
  file: GGUFFile;
  /** The same model's bytes, which the runtime uploads to the GPU. */
  blob: Blob;
  runtime: TokenjudgeRuntime;
  onProgress?: (progress: LoadProgress) => void;
  signal?: AbortSignal;
}

export class GpuJudge {
  private readonly metrics = new Map<string, GpuMetric>();

  private constructor(
    private readonly runtime: TokenjudgeRuntime,
    readonly config: ModelConfig,
    readonly tokenizer: Tokenizer,
    private readonly layout: PromptLayout,
  ) {}

  /** Uploads the model to the GPU and registers every built-in metric. */
  static async create(options: GpuJudgeOptions): Promise<GpuJudge> {
    const { file, runtime } = options;
    const config = await runtime.loadModel({ blob: options.blob, name: file.name }, { onProgress: options.onProgress, signal: options.signal });

    const tokenizer = Tokenizer.fromGGUF(file);
    const layout = buildPromptLayout(tokenizer, file.getOptionalString("tokenizer.chat_template"));
    const judge = new GpuJudge(runtime, config, tokenizer, layout);
    for (const definition of Object.values(BUILTIN_METRICS)) judge.register(definition);
    return judge;
  }

  get metricIds(): string[] {
    return [...this.metrics.keys()];
  }

  /** Validates `definition` and resolves its class tokens, replacing any metric with the same id. */
  register(definition: unknown): void {
    const metric = validateMetricDefinition(definition);
    if (metric.adapter !== undefined) {
      throw new GPUUnsupportedError(
        `metric "${metric.id}" needs a LoRA adapter, which the demo's WebGPU backend does not run; remove the adapter field or reload the model with the CPU backend`,
      );
    }
    this.metrics.set(metric.id, { definition: metric, labels: resolveLabelTokens(metric, this.tokenizer) });
  }

  /** Evaluates `content` with the requested metrics (all registered ones when omitted), one forward pass each. */
  async evaluate(content: EvaluationContent, options: { metrics?: string[]; signal?: AbortSignal } = {}): Promise<MetricResult[]> {
    const selected = (options.metrics ?? this.metricIds).map((id) => this.requireMetric(id));
    if (selected.length === 0) throw new InvalidInputError("evaluate: no metric requested; register a metric or pass metric ids");
    const slots = contentSlots(content);

    const results: MetricResult[] = [];
    for (const { definition, labels } of selected) {
      throwIfAborted(options.signal);
      const prompt = renderMetricPrompt(definition, slots, this.tokenizer, this.layout, this.config.contextLength);
      const tokens = [...prompt.contentTokens, ...prompt.suffixTokens];

      const started = performance.now();
      const { logits } = await this.runtime.logits(tokens, { classTokenIds: labels.tokenIds, signal: options.signal });
      const latencyMs = performance.now() - started;

      const probabilities = calibratedProbabilities(logits, labels.names, definition.calibration);
      const result: MetricResult = {
        metric: definition.id,
        version: definition.version,
        ...decide(probabilities, labels.names, definition.decision),
        tokens: tokens.length,
        latencyMs,
      };
      if (prompt.droppedTokens > 0) result.truncated = { droppedTokens: prompt.droppedTokens };
      results.push(result);
    }
    return results;
  }

  private requireMetric(id: string): GpuMetric {
    const metric = this.metrics.get(id);
    if (metric === undefined) throw new InvalidInputError(`evaluate: metric "${id}" is not registered; registered metrics are ${this.metricIds.join(", ")}`);
    return metric;
  }
}
