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

/** Hook applied to the input of each product, e.g. to emulate another implementation's rounding. */
export type InputRounding = (input: Float32Array, inFeatures: number, matrix: keyof MlpWeights) => Float32Array;

/** Returns the SwiGLU output [rows, embeddingLength] for normalized input [rows, embeddingLength]. */
export function swiGluMlp(
  input: Float32Array,
  weights: MlpWeights,
  embeddingLength: number,
  feedForwardLength: number,
  roundInput: InputRounding = (values) => values,
): Float32Array {
  const gate = matmul(roundInput(input, embeddingLength, "gate"), weights.gate, embeddingLength, feedForwardLength); // [rows, ffn]
  const up = matmul(roundInput(input, embeddingLength, "up"), weights.up, embeddingLength, feedForwardLength); // [rows, ffn]

  for (let i = 0; i < gate.length; i++) {
    const g = gate[i]!;
    gate[i] = (g / (1 + Math.exp(-g))) * up[i]!;
  }

  return matmul(roundInput(gate, feedForwardLength, "down"), weights.down, feedForwardLength, embeddingLength); // [rows, embd]
}
