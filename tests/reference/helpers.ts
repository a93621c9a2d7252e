// Small random models for reference-pass tests: a config builder and seeded weights.

import { Random } from "../../src/fixtures/random.js";
import type { ModelConfig } from "../../src/model/config.js";
import type { LayerWeights, ReferenceWeights } from "../../src/reference/index.js";

/** Returns a small llama config; `overrides` replace single fields. */
export function smallConfig(overrides: Partial<ModelConfig> = {}): ModelConfig {
  return {
    architecture: "llama",
    layerCount: 2,
    embeddingLength: 16,
    feedForwardLength: 40,
    headCount: 4,
    headCountKV: 2,
    headDim: 4,
    rmsNormEpsilon: 1e-5,
    ropeFreqBase: 10000,
    ropeDimensionCount: 4,
    ropeStyle: "normal",
    ropeScaling: { type: "none", factor: 1 },
    ropeFrequencyFactors: false,
    contextLength: 64,
    vocabSize: 50,
    tiedOutput: false,
    queryKeyNorm: false,
    ...overrides,
  };
}

/**
 * Returns seeded random weights matching `config`. Matrices are scaled by 1/sqrt(in) times `gain`,
 * norms are near 1, RoPE frequency factors near 3, and biases are added when `biases` is set.
 */
export function randomWeights(config: ModelConfig, seed: number | string, options: { biases?: boolean; gain?: number } = {}): ReferenceWeights {
  const random = new Random(seed);
  const gain = options.gain ?? 1;
  const { embeddingLength: embd, headDim, feedForwardLength: ffn, vocabSize } = config;
  const queryWidth = config.headCount * headDim;
  const kvWidth = config.headCountKV * headDim;

  const matrix = (rows: number, columns: number) => random.normalArray(rows * columns, gain / Math.sqrt(columns));
  const norm = (size: number) => random.normalArray(size, 0.1, 1);
  const bias = (size: number) => (options.biases ? random.normalArray(size, 0.5) : undefined);

  const layers: LayerWeights[] = [];
  for (let layer = 0; layer < config.layerCount; layer++) {
    layers.push({
      attentionNorm: norm(embd),
      query: matrix(queryWidth, embd),
      key: matrix(kvWidth, embd),
      value: matrix(kvWidth, embd),
      attentionOutput: matrix(embd, queryWidth),
      queryBias: bias(queryWidth),
      keyBias: bias(kvWidth),
      valueBias: bias(kvWidth),
      queryNorm: config.queryKeyNorm ? norm(headDim) : undefined,
      keyNorm: config.queryKeyNorm ? norm(headDim) : undefined,
      feedForwardNorm: norm(embd),
      gate: matrix(ffn, embd),
      up: matrix(ffn, embd),
      down: matrix(embd, ffn),
    });
  }

  return {
    tokenEmbedding: random.normalArray(vocabSize * embd, 1),
    layers,
    outputNorm: norm(embd),
    output: config.tiedOutput ? undefined : matrix(vocabSize, embd),
    ropeFrequencyFactors: config.ropeFrequencyFactors ? random.normalArray(config.ropeDimensionCount / 2, 1, 3) : undefined,
  };
}

/** Returns the index of the largest element. */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

/** Returns max |a[i] - b[i]| over all elements. */
export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}
