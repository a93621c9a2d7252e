// SwiGLU feed-forward block: down(silu(gate(x)) * up(x)).

import { matmul } from "./matmul.js";

export interface MlpWeights {
  /** [feedForwardLength, embeddingLength] */
  gate: Float32Array;
  /** [feedForwardLength, embeddingLength] */
  up: Float32Array;
  /** [embeddingLength, feedForwardLength] */
  down: Float32Array;
}

/** Computes one product Y = X · Wᵀ of the block, e.g. emulating another implementation's rounding. */
export type MlpProduct = (input: Float32Array, weight: Float32Array, inFeatures: number, outFeatures: number, matrix: keyof MlpWeights) => Float32Array;

/** Returns the SwiGLU output [rows, embeddingLength] for normalized input [rows, embeddingLength]. */
export function swiGluMlp(
  input: Float32Array,
  weights: MlpWeights,
  embeddingLength: number,
  feedForwardLength: number,
  product: MlpProduct = (values, weight, inFeatures, outFeatures) => matmul(values, weight, inFeatures, outFeatures),
): Float32Array {
  const gate = product(input, weights.gate, embeddingLength, feedForwardLength, "gate"); // [rows, ffn]
  const up = product(input, weights.up, embeddingLength, feedForwardLength, "up"); // [rows, ffn]

  for (let i = 0; i < gate.length; i++) {
    const g = gate[i]!;
    gate[i] = (g / (1 + Math.exp(-g))) * up[i]!;
  }

  return product(gate, weights.down, feedForwardLength, embeddingLength, "down"); // [rows, embd]
}
