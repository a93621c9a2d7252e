// The evaluation pipeline on the CPU reference model. The content tokens that the requested
// metrics share are prefilled once with the base weights. Each metric then forks that KV cache and
// runs the rest of its content with the base weights and its suffix with its adapter active
// ("activated" LoRA). It reads its class logits at the last position. A "classic" adapter acts on
// every token, so its metric prefills its own copy of the content.

import { NonFiniteOutputError, throwIfAborted } from "../errors.js";
import type { LoraReferenceModel } from "../adapters/forward.js";
import type { LoraAdapter } from "../adapters/lora.js";
import type { KVCache } from "../reference/kv-cache.js";
import type { Tokenizer } from "../tokenizer/index.js";
import { calibratedProbabilities, decide } from "./calibration.js";
import type { MetricDefinition } from "./definition.js";
import type { ResolvedLabels } from "./labels.js";
import { contentSlots, renderMetricPrompt, sharedPrefixLength, type EvaluationContent, type MetricPrompt, type PromptLayout } from "./prompt.js";

/** A registered metric with its class tokens resolved and its adapter loaded. */
export interface PreparedMetric {
  definition: MetricDefinition;
  labels: ResolvedLabels;
  adapter?: LoraAdapter;
}

export interface MetricResult {
  metric: string;
  version: string;
  /** Calibrated probability of each label, summing to 1. */
  probabilities: Record<string, number>;
  /** The label with the highest probability. */
  label: string;
  /** Probability of the positive label (threshold rule) or of `label` (argmax rule). */
  score: number;
  /** The label the metric's decision rule picks. */
  verdict: string;
  /** Prompt length in tokens: content part plus suffix. */
  tokens: number;
  /** Wall time of this metric's forward passes in milliseconds, including the shared prefill it reused. */
  latencyMs: number;
  /** Present when the start of the content was dropped to fit the context window. */
  truncated?: { droppedTokens: number };
}

export interface PipelineOptions {
  signal?: AbortSignal;
  /** False evaluates each metric from an empty cache, with no shared prefill; for equivalence tests. */
  shareContent?: boolean;
}

/**
 * Evaluates `metrics` on `content`. Throws `InvalidInputError` for empty content or lone
 * surrogates, `TemplateSlotError` for a slot the content leaves empty, and `AbortError` when
 * `signal` is aborted (checked before the prefill and between metrics).
 */
export function evaluateMetrics(
  model: LoraReferenceModel,
  tokenizer: Tokenizer,
  layout: PromptLayout,
  metrics: PreparedMetric[],
  content: EvaluationContent,
  options: PipelineOptions = {},
): MetricResult[] {
  const slots = contentSlots(content);
  const maxTokens = model.config.contextLength;
  const prompts = metrics.map((metric) => renderMetricPrompt(metric.definition, slots, tokenizer, layout, maxTokens, metric.labels.prefixTokens));
  throwIfAborted(options.signal);

  // Metrics without a classic adapter read the content with the base weights, so they can share
  // it: the prefix common to all of them is prefilled once, and each distinct content part once more.
  const sharing = options.shareContent ?? true;
  const shared = prompts.filter((_, i) => sharing && !isClassic(metrics[i]!));
  const commonLength = sharedPrefixLength(shared);

  let prefillStart = performance.now();
  const commonCache = model.createKVCache();
  if (commonLength > 0) model.forward(shared[0]!.contentTokens.slice(0, commonLength), { cache: commonCache, classTokenIds: [] });
  const commonMs = performance.now() - prefillStart;

  // Content parts used by two or more metrics get their own prefill, keyed by their token ids.
  const contentCaches = new Map<string, { cache: KVCache; ms: number }>();
  const contentUses = new Map<string, number>();
  for (const prompt of shared) contentUses.set(contentKey(prompt), (contentUses.get(contentKey(prompt)) ?? 0) + 1);

  return metrics.map((metric, i) => {
    throwIfAborted(options.signal);
    const prompt = prompts[i]!;
    if (!shared.includes(prompt)) {
      const start = performance.now();
      const logits = runAlone(model, metric, prompt);
      return toResult(metric, prompt, logits, performance.now() - start);
    }

    // Start from the common prefix, or from the prefilled content part when other metrics share it.
    const key = contentKey(prompt);
    let cache = commonCache;
    let cachedLength = commonLength;
    let reusedMs = commonMs;
    if ((contentUses.get(key) ?? 0) >= 2 && prompt.contentTokens.length > commonLength) {
      let content = contentCaches.get(key);
      if (content === undefined) {
        prefillStart = performance.now();
        const contentCache = model.forkKVCache(commonCache);
        model.forward(prompt.contentTokens.slice(commonLength), { cache: contentCache, classTokenIds: [] });
        content = { cache: contentCache, ms: performance.now() - prefillStart };
        contentCaches.set(key, content);
      }
      cache = content.cache;
      cachedLength = prompt.contentTokens.length;
      reusedMs += content.ms;
    }

    const start = performance.now();
    const logits = runFromCache(model, metric, prompt, cache, cachedLength);
    return toResult(metric, prompt, logits, performance.now() - start + reusedMs);
  });
}

function contentKey(prompt: MetricPrompt): string {
  return prompt.contentTokens.join(",");
}

/** Forks `sharedCache` (the first `sharedLength` content tokens), then runs the rest of the content (base weights) and the suffix (adapter). */
function runFromCache(model: LoraReferenceModel, metric: PreparedMetric, prompt: MetricPrompt, sharedCache: KVCache, sharedLength: number): Float32Array {
  const cache = model.forkKVCache(sharedCache);
  const rest = prompt.contentTokens.slice(sharedLength);
  const { logits } = model.forward([...rest, ...prompt.suffixTokens], {
    cache,
    classTokenIds: metric.labels.tokenIds,
    adapter: metric.adapter,
    adapterFromRow: rest.length,
  });
  return logits;
}

/** Runs the whole prompt from an empty cache, with a classic adapter on every token or an activated one on the suffix. */
function runAlone(model: LoraReferenceModel, metric: PreparedMetric, prompt: MetricPrompt): Float32Array {
  const classic = isClassic(metric);
  const { logits } = model.forward([...prompt.contentTokens, ...prompt.suffixTokens], {
    classTokenIds: metric.labels.tokenIds,
    adapter: metric.adapter,
    adapterFromRow: classic ? 0 : prompt.contentTokens.length,
  });
  return logits;
}

/** True when the metric's adapter acts on every token ("classic"), so it cannot share the base-weight content prefill. */
export function isClassic(metric: PreparedMetric): boolean {
  return metric.adapter !== undefined && metric.definition.adapter?.mode === "classic";
}

/** Builds a metric's result from its class logits: calibrated probabilities, decision, token count and truncation. */
export function toResult(metric: PreparedMetric, prompt: MetricPrompt, logits: Float32Array, latencyMs: number): MetricResult {
  const { definition, labels } = metric;
  const probabilities = calibratedProbabilities(logits, labels.names, definition.calibration);
  if (!probabilities.every(Number.isFinite)) throw new NonFiniteOutputError(definition.id, probabilities);
  const decision = decide(probabilities, labels.names, definition.decision);

  const result: MetricResult = {
    metric: definition.id,
    version: definition.version,
    ...decision,
    tokens: prompt.contentTokens.length + prompt.suffixTokens.length,
    latencyMs,
  };
  if (prompt.droppedTokens > 0) result.truncated = { droppedTokens: prompt.droppedTokens };
  return result;
}
