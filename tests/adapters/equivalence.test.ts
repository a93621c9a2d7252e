// The LoRA-aware forward pass against the reference model. Without an adapter it is identical, and
// with a classic adapter it equals the reference on merged weights. Activated LoRA through a KV
// cache equals one full pass with the adapter masked to the suffix rows.

import { describe, expect, it } from "vitest";

import { LoraReferenceModel } from "../../src/adapters/forward.js";
import { randomLora, randomLoraAdapter } from "../../src/adapters/fixtures.js";
import { loraDelta } from "../../src/adapters/lora.js";
import { mergeLoraWeights } from "../../src/adapters/merge.js";
import type { ModelConfig } from "../../src/model/config.js";
import { ReferenceModel, logSoftmax } from "../../src/reference/index.js";
import { maxAbsDifference, randomWeights, smallConfig } from "../reference/helpers.js";

const SMALL: Partial<ModelConfig> = { embeddingLength: 32, headCount: 4, headCountKV: 2, headDim: 8, ropeDimensionCount: 8, feedForwardLength: 48, vocabSize: 64, contextLength: 64 };

const cases: { name: string; config: ModelConfig; biases?: boolean }[] = [
  { name: "llama", config: smallConfig(SMALL) },
  { name: "qwen2 biases", config: smallConfig({ ...SMALL, architecture: "qwen2", ropeStyle: "neox" }), biases: true },
  { name: "qwen3 q/k norm, wide heads", config: smallConfig({ ...SMALL, architecture: "qwen3", ropeStyle: "neox", queryKeyNorm: true, headDim: 16, ropeDimensionCount: 16, tiedOutput: true }) },
];

const prefix = [1, 7, 22, 5, 40, 13, 9, 31];
const suffix = [3, 18, 27, 11];

describe.each(cases)("LoRA forward, $name", ({ name, config, biases }) => {
  const weights = randomWeights(config, name, { biases });
  const model = new LoraReferenceModel(config, weights);
  const adapter = randomLoraAdapter(randomLora(config, { seed: name, rank: 4 }), name);

  it("matches the reference without an adapter", () => {
    const reference = ReferenceModel.fromWeights(config, weights);
    expect(model.forward([...prefix, ...suffix]).logits).toEqual(reference.forward([...prefix, ...suffix]).logits);
  });

  it("classic adapter matches merged weights", () => {
    const merged = ReferenceModel.fromWeights(config, mergeLoraWeights(config, weights, adapter));
    const expected = merged.forward([...prefix, ...suffix]).logits;
    const actual = model.forward([...prefix, ...suffix], { adapter }).logits;

    expect(maxAbsDifference(actual, expected)).toBeLessThanOrEqual(1e-4);
    // The adapter must matter, or the comparison above proves nothing.
    expect(maxAbsDifference(actual, model.forward([...prefix, ...suffix]).logits)).toBeGreaterThan(0.1);
  });

  it("classic adapter log-probs match merged weights", () => {
    const merged = ReferenceModel.fromWeights(config, mergeLoraWeights(config, weights, adapter));
    const expected = logSoftmax(merged.forward([...prefix, ...suffix]).logits);
    const actual = logSoftmax(model.forward([...prefix, ...suffix], { adapter }).logits);
    expect(maxAbsDifference(actual, expected)).toBeLessThanOrEqual(1e-4);
  });

  it("activated adapter through the cache matches a masked full pass", () => {
    const cache = model.createKVCache();
    model.forward(prefix, { cache });
    const cached = model.forward(suffix, { cache, adapter }).logits;
    const full = model.forward([...prefix, ...suffix], { adapter, adapterFromRow: prefix.length }).logits;

    expect(maxAbsDifference(cached, full)).toBeLessThanOrEqual(1e-6);
    expect(maxAbsDifference(cached, model.forward([...prefix, ...suffix], { adapter }).logits)).toBeGreaterThan(0.01);
  });

  it("forked cache equals the original", () => {
    const cache = model.createKVCache();
    model.forward(prefix, { cache });
    const fork = model.forkKVCache(cache);
    const fromFork = model.forward(suffix, { cache: fork, adapter }).logits;
    const fromOriginal = model.forward(suffix, { cache, adapter }).logits;
    expect(fromFork).toEqual(fromOriginal);
    expect(fork.length).toBe(prefix.length + suffix.length);
  });
});

describe("loraDelta", () => {
  it("matches a plain B·A product and skips early rows", () => {
    const a = Float32Array.from([1, 2, 3, 4, 5, 6]); // [rank 2, in 3]
    const b = Float32Array.from([1, 0, 0, 1, 1, 1]); // [out 3, rank 2]
    const input = Float32Array.from([1, 0, 0, 0, 1, 1]); // [rows 2, in 3]
    const delta = loraDelta(input, { a, b, rank: 2, inFeatures: 3, outFeatures: 3, scale: 0.5 }, 1);
    // Row 1: A·x = [5, 11], B·(A·x) = [5, 11, 16], times 0.5.
    expect(Array.from(delta)).toEqual([0, 0, 0, 2.5, 5.5, 8]);
  });
});
