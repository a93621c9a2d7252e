// Grouped-query self-attention with a causal mask over the KV cache.

import type { KVCache } from "./kv-cache.js";
import { dot } from "./matmul.js";

export interface AttentionShape {
  headCount: number;
  headCountKV: number;
  headDim: number;
}

/**
 * Computes causal attention for `rows` new queries [rows, headCount * headDim] whose keys and
 * values were already written to `cache` for `layer` at positions `firstPosition ..`. Query row r
 * (position firstPosition + r) attends to positions 0 .. firstPosition + r. Query head h reads
 * key/value head floor(h / (headCount / headCountKV)), as llama.cpp groups them.
 * Returns the weighted values [rows, headCount * headDim].
 */
export function causalAttention(queries: Float32Array, cache: KVCache, layer: number, firstPosition: number, shape: AttentionShape): Float32Array {
  const { headCount, headCountKV, headDim } = shape;
  const queryWidth = headCount * headDim;
  const kvWidth = headCountKV * headDim;
  const groupSize = headCount / headCountKV;
  const rows = queries.length / queryWidth;
  const scale = 1 / Math.sqrt(headDim);

  const keys = cache.layerKeys(layer); // [positions, kvWidth]
  const values = cache.layerValues(layer); // [positions, kvWidth]
  const output = new Float32Array(rows * queryWidth);
  const scores = new Float64Array(firstPosition + rows);
  const accumulator = new Float64Array(headDim);

  for (let r = 0; r < rows; r++) {
    const visible = firstPosition + r + 1;
    for (let h = 0; h < headCount; h++) {
      const queryStart = r * queryWidth + h * headDim;
      const kvOffset = Math.floor(h / groupSize) * headDim;

      // Scaled dot products with every visible key, then a numerically stable softmax.
      let maxScore = -Infinity;
      for (let p = 0; p < visible; p++) {
        const score = dot(queries, queryStart, keys, p * kvWidth + kvOffset, headDim) * scale;
        scores[p] = score;
        if (score > maxScore) maxScore = score;
      }
      let sum = 0;
      for (let p = 0; p < visible; p++) {
        scores[p] = Math.exp(scores[p]! - maxScore);
        sum += scores[p]!;
      }

      accumulator.fill(0);
      for (let p = 0; p < visible; p++) {
        const weight = scores[p]!;
        const valueStart = p * kvWidth + kvOffset;
        for (let d = 0; d < headDim; d++) accumulator[d] = accumulator[d]! + weight * values[valueStart + d]!;
      }
      for (let d = 0; d < headDim; d++) output[queryStart + d] = accumulator[d]! / sum;
    }
  }
  return output;
}
