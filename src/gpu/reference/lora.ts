// Plain-loop references of the multi-adapter LoRA kernels, in float64: the unmerged form the
// kernels compute, and the merged form (W + scale B A) x that they must agree with.

import type { LoraSegment, LoraSlotWeights } from "../kernels/lora.js";

export interface LoraReferenceShape {
  /** Rows of x and y. */
  m: number;
  /** Input features. */
  k: number;
  /** Output features. */
  n: number;
}

/**
 * Returns y [m, n] = base [m, n] plus, for each row i inside a segment with slot s >= 0 and a
 * defined slots[s], scale_s * B_s (A_s x[i]). x is [m, k], A_s [rank_s, k], B_s [n, rank_s].
 */
export function loraReference(
  x: Float32Array,
  base: Float32Array,
  shape: LoraReferenceShape,
  slots: readonly (LoraSlotWeights | undefined)[],
  segments: readonly LoraSegment[],
): Float32Array {
  const { k, n } = shape;
  const y = Float32Array.from(base);

  for (const segment of segments) {
    const weights = segment.slot >= 0 ? slots[segment.slot] : undefined;
    if (!weights) continue;
    const { a, b, rank, scale } = weights;

    for (let i = segment.rowStart; i < segment.rowStart + segment.rowCount; i++) {
      // t [rank] = A_s x[i]
      const t = new Float64Array(rank);
      for (let j = 0; j < rank; j++) {
        let sum = 0;
        for (let c = 0; c < k; c++) sum += a[j * k + c]! * x[i * k + c]!;
        t[j] = sum;
      }

      // y[i] [n] += scale_s * B_s t
      for (let o = 0; o < n; o++) {
        let sum = 0;
        for (let j = 0; j < rank; j++) sum += b[o * rank + j]! * t[j]!;
        y[i * n + o] = base[i * n + o]! + scale * sum;
      }
    }
  }
  return y;
}

/**
 * Returns y [m, n] where row i is x[i] W_i^T, W_i [n, k] being W merged with the adapter of the
 * row's segment (W + scale_s * B_s A_s) or W itself for rows without an adapter.
 */
export function mergedLoraReference(
  x: Float32Array,
  w: Float32Array,
  shape: LoraReferenceShape,
  slots: readonly (LoraSlotWeights | undefined)[],
  segments: readonly LoraSegment[],
): Float32Array {
  const { m, k, n } = shape;

  // Slot of each row, -1 for rows without an adapter.
  const rowSlots = new Int32Array(m).fill(-1);
  for (const segment of segments) {
    for (let i = segment.rowStart; i < segment.rowStart + segment.rowCount; i++) rowSlots[i] = segment.slot;
  }

  // Merged weights [n, k] per used slot: W + scale B A, or W itself for slot -1.
  const merged = new Map<number, Float64Array>();
  const mergedWeights = (slot: number): Float64Array => {
    const cached = merged.get(slot);
    if (cached) return cached;
    const out = Float64Array.from(w);
    const weights = slot >= 0 ? slots[slot] : undefined;
    if (weights) {
      const { a, b, rank, scale } = weights;
      for (let o = 0; o < n; o++) {
        for (let c = 0; c < k; c++) {
          let sum = 0;
          for (let j = 0; j < rank; j++) sum += b[o * rank + j]! * a[j * k + c]!;
          out[o * k + c] = w[o * k + c]! + scale * sum;
        }
      }
    }
    merged.set(slot, out);
    return out;
  };

  const y = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    const weights = mergedWeights(rowSlots[i]!);
    for (let o = 0; o < n; o++) {
      let sum = 0;
      for (let c = 0; c < k; c++) sum += weights[o * k + c]! * x[i * k + c]!;
      y[i * n + o] = sum;
    }
  }
  return y;
}
