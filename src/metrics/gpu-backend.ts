// The evaluation pipeline on WebGPU, the `backend: "webgpu"` side of `Judge`. It renders the same
// prompts as the CPU pipeline (pipeline.ts) and returns results of the same shape:
//   1. The content prefix common to every metric without a classic adapter is prefilled once with
//      the base weights into a GPU KV cache.
//   2. Those metrics then run in one batched pass (gpu/suffix-batch.ts). Each metric's segment is
//      the rest of its content, with the base weights, then its suffix with its adapter active.
//   3. Metrics with a classic adapter run in a second batched pass with no prefix, each segment
//      its whole prompt with the adapter on every row.
// A batch larger than one storage binding allows is split into several passes of whole segments.
// NOTE: content parts that several metrics share beyond the common prefix run once per metric
// inside the batch. The CPU pipeline prefills them once. The results are the same, but the GPU
// batch has more rows when the metrics' content templates differ.

import type { LoraAdapter } from "../adapters/lora.js";
import { AbortError, InvalidInputError, throwIfAborted } from "../errors.js";
import type { GGUFFile } from "../gguf/reader.js";
import type { GPUContext } from "../gpu/context.js";
import { WebGPUModel, type GPUKVCache } from "../gpu/model.js";
import { maxSuffixBatchRows, runSuffixBatch, SuffixBatchAdapters, type SuffixSegment } from "../gpu/suffix-batch.js";
import type { ModelConfig } from "../model/config.js";
import type { ProgressCallback } from "../runtime/progress.js";
import type { Tokenizer } from "../tokenizer/index.js";
import { isClassic, toResult, type MetricResult, type PreparedMetric } from "./pipeline.js";
import { contentSlots, renderMetricPrompt, sharedPrefixLength, type EvaluationContent, type MetricPrompt, type PromptLayout } from "./prompt.js";

export interface WebGPUBackendLoadOptions {
  context: GPUContext;
  /** Receives the weight upload and pipeline compilation reports, then "ready". */
  onProgress?: ProgressCallback;
  signal?: AbortSignal;
}

/** Counts of the GPU work one `evaluate` call recorded, for tests and diagnostics. */
export interface WebGPUEvaluationStats {
  /** Tokens of the shared prefix prefilled with the base weights; 0 when no prefill ran. */
  prefixTokens: number;
  /** Batched passes run: one per batch of activated or base-weight segments, one per batch of classic segments. */
  batches: number;
  /** Segment rows over every batch. */
  batchRows: number;
}

/** One metric's segment, with the metric's index in the results. */
interface PlannedSegment {
  index: number;
  segment: SuffixSegment;
}

export class WebGPUJudgeBackend {
  private adapters: SuffixBatchAdapters | undefined;
  private adapterSlots = new Map<LoraAdapter, number>();
  private disposed = false;
  /** Work of the last `evaluate` call that finished. */
  lastStats: WebGPUEvaluationStats = { prefixTokens: 0, batches: 0, batchRows: 0 };
  /**
   * Max segment rows per batched pass, the device's binding limit by default (maxSuffixBatchRows).
   * A lower value splits batches sooner. A segment longer than the limit still runs alone.
   */
  maxBatchRows: number;

  private constructor(readonly model: WebGPUModel) {
    this.maxBatchRows = maxSuffixBatchRows(model);
  }

  /** Uploads the model's weights to `options.context` and compiles the forward-pass pipelines. */
  static async load(file: GGUFFile, options: WebGPUBackendLoadOptions): Promise<WebGPUJudgeBackend> {
    const model = await WebGPUModel.load(file, { context: options.context, onProgress: options.onProgress, signal: options.signal });
    return new WebGPUJudgeBackend(model);
  }

  get config(): ModelConfig {
    return this.model.config;
  }

  get context(): GPUContext {
    return this.model.parts.context;
  }

  /**
   * Uploads `adapters` as the batch slots, replacing the previous ones, unless the same adapter
   * objects are already uploaded in the same order. Call it whenever the registered adapters change.
   */
  useAdapters(adapters: readonly LoraAdapter[]): void {
    this.assertUsable();
    const unique = [...new Set(adapters)];
    const current = [...this.adapterSlots.keys()];
    if (unique.length === current.length && unique.every((adapter, slot) => current[slot] === adapter)) return;

    const uploaded = unique.length > 0 ? SuffixBatchAdapters.create(this.model, unique) : undefined;
    this.adapters?.dispose();
    this.adapters = uploaded;
    this.adapterSlots = new Map(unique.map((adapter, slot) => [adapter, slot]));
  }

  /**
   * Evaluates `metrics` on `content`, like `evaluateMetrics` on the CPU. `latencyMs` of a metric is
   * the wall time of the prefill it reused plus the whole batched pass it ran in. Throws
   * `InvalidInputError` for invalid content or an adapter that `useAdapters` did not upload, and
   * `AbortError` when `signal` aborts. The GPU buffers of the call are freed in every case.
   */
  async evaluate(tokenizer: Tokenizer, layout: PromptLayout, metrics: PreparedMetric[], content: EvaluationContent, signal?: AbortSignal): Promise<MetricResult[]> {
    this.assertUsable();
    const slots = contentSlots(content);
    const prompts = metrics.map((metric) => renderMetricPrompt(metric.definition, slots, tokenizer, layout, this.config.contextLength, metric.labels.prefixTokens));
    throwIfAborted(signal);

    const stats: WebGPUEvaluationStats = { prefixTokens: 0, batches: 0, batchRows: 0 };
    const logits: Float32Array[] = new Array(metrics.length);
    const latencies: number[] = new Array(metrics.length).fill(0);

    // Metrics without a classic adapter share the base-weight prefill of their common content prefix.
    const shared = metrics.map((_, i) => i).filter((i) => !isClassic(metrics[i]!));
    const classic = metrics.map((_, i) => i).filter((i) => isClassic(metrics[i]!));
    const prefixLength = sharedPrefixLength(shared.map((i) => prompts[i]!));

    let prefix: GPUKVCache | undefined;
    try {
      let prefillMs = 0;
      if (prefixLength > 0) {
        const start = performance.now();
        const first = shared[0]!;
        prefix = this.model.createKVCache(prefixLength);
        // The forward pass needs ids to score; the prefill's own logits are discarded.
        await this.model.forward(prompts[first]!.contentTokens.slice(0, prefixLength), { cache: prefix, classTokenIds: metrics[first]!.labels.tokenIds, signal });
        prefillMs = performance.now() - start;
        stats.prefixTokens = prefixLength;
      }

      const sharedSegments = shared.map((i) => this.plan(i, metrics[i]!, prompts[i]!, prefixLength));
      await this.runBatches(sharedSegments, prefix, logits, latencies, stats, signal);
      for (const i of shared) latencies[i]! += prefillMs;

      const classicSegments = classic.map((i) => this.plan(i, metrics[i]!, prompts[i]!, 0));
      await this.runBatches(classicSegments, undefined, logits, latencies, stats, signal);
    } finally {
      prefix?.dispose();
    }

    this.lastStats = stats;
    return metrics.map((metric, i) => toResult(metric, prompts[i]!, logits[i]!, latencies[i]!));
  }

  /** Frees the adapters and the model's weights. The context belongs to the caller. Safe to call twice. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.adapters?.dispose();
    this.model.dispose();
  }

  /** Returns metric `index`'s segment: its prompt after the first `prefixLength` content tokens. */
  private plan(index: number, metric: PreparedMetric, prompt: MetricPrompt, prefixLength: number): PlannedSegment {
    const rest = prompt.contentTokens.slice(prefixLength);
    let adapterSlot = -1;
    if (metric.adapter !== undefined) {
      const slot = this.adapterSlots.get(metric.adapter);
      if (slot === undefined) {
        throw new InvalidInputError(`metric "${metric.definition.id}": its adapter ${metric.adapter.name} is not uploaded to the GPU; register the metric through Judge.register`);
      }
      adapterSlot = slot;
    }
    const segment: SuffixSegment = {
      tokens: [...rest, ...prompt.suffixTokens],
      adapterSlot,
      // Classic adapters act on every row; activated ones on the suffix only.
      adapterFromRow: isClassic(metric) ? 0 : rest.length,
      classTokenIds: metric.labels.tokenIds,
    };
    return { index, segment };
  }

  /** Runs `planned` in as few batches as the binding limit allows and stores each metric's logits and batch time. */
  private async runBatches(
    planned: PlannedSegment[],
    prefix: GPUKVCache | undefined,
    logits: Float32Array[],
    latencies: number[],
    stats: WebGPUEvaluationStats,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const batches: PlannedSegment[][] = [];
    let rows = 0;
    for (const entry of planned) {
      const length = entry.segment.tokens.length;
      if (batches.length === 0 || rows + length > this.maxBatchRows) {
        batches.push([]);
        rows = 0;
      }
      batches.at(-1)!.push(entry);
      rows += length;
    }

    for (const batch of batches) {
      if (signal?.aborted) throw new AbortError("evaluate was aborted between GPU batches");
      const start = performance.now();
      const results = await runSuffixBatch(this.model, { prefix, segments: batch.map((entry) => entry.segment), adapters: this.adapters, signal });
      const elapsed = performance.now() - start;

      batch.forEach((entry, j) => {
        logits[entry.index] = results[j]!.logits;
        latencies[entry.index] = elapsed;
      });
      stats.batches++;
      stats.batchRows += batch.reduce((sum, entry) => sum + entry.segment.tokens.length, 0);
    }
  }

  private assertUsable(): void {
    if (this.disposed) throw new InvalidInputError("this WebGPU judge backend was disposed; create a new Judge");
  }
}
