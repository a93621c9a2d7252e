// Plain-loop references of embedding gather, class logits and log-softmax, in float64 over
// weight rows that the caller has already dequantized.

import { rmsnormReference } from "./rmsnorm.js";

/** Returns [ids.length, dim]: row ids[t] of table [rows, dim]. */
export function embeddingReference(table: Float32Array, dim: number, ids: ArrayLike<number>): Float32Array {
  const out = new Float32Array(ids.length * dim);
  for (let t = 0; t < ids.length; t++) out.set(table.subarray(ids[t]! * dim, (ids[t]! + 1) * dim), t * dim);
  return out;
}

/** Returns log(softmax(x)) over all of x, in float64. */
export function logSoftmaxReference(x: ArrayLike<number>): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) max = Math.max(max, x[i]!);
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += Math.exp(x[i]! - max);
  const logSum = Math.log(sum);

  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! - max - logSum;
  return out;
}

export interface ClassLogitsReference {
  /** [ids.length] raw logits. */
  logits: Float32Array;
  /** [ids.length] log-softmax over the selected logits. */
  logProbs: Float32Array;
}

/**
 * Normalizes the last row of hidden [positions, dim] with normWeight [dim], takes its dot product
 * with rows `ids` of output [n_vocab, dim], and returns the logits and their log-softmax.
 */
export function classLogitsReference(
  hidden: Float32Array,
  dim: number,
  normWeight: Float32Array,
  eps: number,
  output: Float32Array,
  ids: ArrayLike<number>,
): ClassLogitsReference {
  const positions = hidden.length / dim;
  const normed = rmsnormReference(hidden, normWeight, dim, eps, positions - 1, 1); // [dim]

  const logits = new Float32Array(ids.length);
  for (let k = 0; k < ids.length; k++) {
    const base = ids[k]! * dim;
    let dot = 0;
    for (let c = 0; c < dim; c++) dot += normed[c]! * output[base + c]!;
    logits[k] = dot;
  }
  return { logits, logProbs: logSoftmaxReference(logits) };
}
