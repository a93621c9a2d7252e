// Rotary position embedding (RoPE) as llama.cpp applies it.
//
// For pair i (0 <= i < ropeDimensionCount / 2) at position p the rotation angle is
//   theta = (p / scalingFactor) * freqBase^(-2i / ropeDimensionCount) / frequencyFactor[i]
// "normal" style rotates (x[2i], x[2i + 1]), "neox" style rotates (x[i], x[i + ropeDimensionCount / 2]).
// Dimensions at and beyond ropeDimensionCount pass through unchanged.

import type { RopeStyle } from "../model/config.js";

export interface RopeParameters {
  headDim: number;
  ropeDimensionCount: number;
  ropeFreqBase: number;
  ropeStyle: RopeStyle;
  /** Linear position scaling factor; 1 for none. */
  scalingFactor: number;
  /** Optional per-pair divisors [ropeDimensionCount / 2] (the `rope_freqs.weight` tensor). */
  frequencyFactors?: Float32Array;
}

/** Returns the inverse frequency of each rotated pair [ropeDimensionCount / 2], scaling folded in. */
export function ropeInverseFrequencies(parameters: RopeParameters): Float64Array {
  const pairs = parameters.ropeDimensionCount / 2;
  const inverse = new Float64Array(pairs);
  for (let i = 0; i < pairs; i++) {
    const factor = parameters.frequencyFactors?.[i] ?? 1;
    inverse[i] = parameters.ropeFreqBase ** ((-2 * i) / parameters.ropeDimensionCount) / factor / parameters.scalingFactor;
  }
  return inverse;
}

/**
 * Rotates every head of `vectors` [rows, heads * headDim] in place; row r is at position
 * `firstPosition + r`. `inverseFrequencies` comes from `ropeInverseFrequencies`.
 */
export function applyRope(
  vectors: Float32Array,
  heads: number,
  firstPosition: number,
  parameters: RopeParameters,
  inverseFrequencies: Float64Array,
): void {
  const { headDim, ropeDimensionCount, ropeStyle } = parameters;
  const rowWidth = heads * headDim;
  const rows = vectors.length / rowWidth;
  const pairs = ropeDimensionCount / 2;

  for (let r = 0; r < rows; r++) {
    const position = firstPosition + r;
    for (let i = 0; i < pairs; i++) {
      const angle = position * inverseFrequencies[i]!;
      const cos = Math.cos(angle);
      const sin = Math.sin(angle);

      // Offsets of the two rotated elements inside a head.
      const first = ropeStyle === "normal" ? 2 * i : i;
      const second = ropeStyle === "normal" ? 2 * i + 1 : i + pairs;

      for (let h = 0; h < heads; h++) {
        const base = r * rowWidth + h * headDim;
        const x0 = vectors[base + first]!;
        const x1 = vectors[base + second]!;
        vectors[base + first] = x0 * cos - x1 * sin;
        vectors[base + second] = x0 * sin + x1 * cos;
      }
    }
  }
}
