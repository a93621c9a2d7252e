// Scoring helpers on last-position logits: log-softmax and top-k.

import type { ScoredToken } from "./types.js";

/** Returns log-softmax of `logits`, computed with the max subtracted so large logits do not overflow. */
export function logSoftmax(logits: Float32Array): Float32Array {
  let max = -Infinity;
  for (const value of logits) if (value > max) max = value;

  let sum = 0;
  for (const value of logits) sum += Math.exp(value - max);
  const logSum = max + Math.log(sum);

  const result = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i++) result[i] = logits[i]! - logSum;
  return result;
}

/**
 * Returns the `k` highest entries, best first (ties by lower index). `tokenIds[i]` names entry i;
 * entry i is token i when `tokenIds` is omitted.
 */
export function topTokens(logits: Float32Array, logProbs: Float32Array, k: number, tokenIds?: readonly number[]): ScoredToken[] {
  const count = Math.min(Math.max(Math.floor(k), 0), logits.length);
  if (count === 0) return [];

  const order = Array.from({ length: logits.length }, (_, i) => i);
  order.sort((a, b) => logits[b]! - logits[a]! || a - b);

  return order.slice(0, count).map((i) => ({ token: tokenIds ? tokenIds[i]! : i, logit: logits[i]!, logProb: logProbs[i]! }));
}
