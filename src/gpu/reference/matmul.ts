// Plain-loop reference for the matmul kernels: y[M, N] = x[M, K] · W[N, K]^T (+ bias[N]).

import { dequantize } from "../../gguf/quant.js";
import { roundToF16 } from "../../gguf/half.js";
import type { GGMLType } from "../../gguf/types.js";

export interface MatmulReferenceInput {
  x: Float32Array; // [m, k]
  /** W in its GGUF bytes: n rows of k elements of `type`. */
  weightBytes: Uint8Array;
  type: GGMLType;
  bias?: Float32Array; // [n]
  m: number;
  n: number;
  k: number;
  /** Round every dequantized weight to f16, as the kernels' f16 weight tiles do. */
  roundWeightsToF16?: boolean;
}

/** Dequantizes W with the GGUF decoder, then multiplies with float64 accumulation. Returns y [m, n]. */
export function matmulReference(input: MatmulReferenceInput): Float32Array {
  const { x, m, n, k } = input;
  const w = dequantize(input.type, input.weightBytes, n * k); // [n, k]
  if (input.roundWeightsToF16) {
    for (let i = 0; i < w.length; i++) w[i] = roundToF16(w[i]!);
  }
  const y = new Float32Array(m * n); // [m, n]

  for (let row = 0; row < m; row++) {
    for (let column = 0; column < n; column++) {
      let sum = 0;
      for (let i = 0; i < k; i++) sum += x[row * k + i]! * w[column * k + i]!;
      y[row * n + column] = sum + (input.bias?.[column] ?? 0);
    }
  }
  return y;
}
