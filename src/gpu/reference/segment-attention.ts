// Plain-loop reference of attention for stacked suffix segments after a shared prefix, in float64.

export interface SegmentAttentionReferenceArgs {
  /** Rows per segment, in batch order. */
  lengths: readonly number[];
  nHead: number;
  nHeadKv: number;
  headDim: number;
  /** Cached prefix positions P. */
  prefixLength: number;
  /** Cache row of batch row 0. */
  suffixStart: number;
  scale: number;
}

/**
 * Returns out [totalRows, nHead, headDim] for q [totalRows, nHead, headDim] and caches
 * [nCtx, nHeadKv, headDim]. Batch row b of the segment that starts at batch row s0 attends to
 * cache rows 0 .. P - 1 and suffixStart + s0 .. suffixStart + b, with a two-pass softmax; head h
 * reads kv head h / (nHead / nHeadKv).
 */
export function segmentAttentionReference(
  q: Float32Array,
  kCache: Float32Array,
  vCache: Float32Array,
  args: SegmentAttentionReferenceArgs,
): Float32Array {
  const { lengths, nHead, nHeadKv, headDim, prefixLength, suffixStart, scale } = args;
  const totalRows = lengths.reduce((sum, length) => sum + length, 0);
  const out = new Float32Array(totalRows * nHead * headDim);
  const group = nHead / nHeadKv;

  let segmentStart = 0;
  for (const length of lengths) {
    for (let b = segmentStart; b < segmentStart + length; b++) {
      // Cache rows this row attends to: the prefix, then its own segment up to itself.
      const keyRows: number[] = [];
      for (let row = 0; row < prefixLength; row++) keyRows.push(row);
      for (let s = segmentStart; s <= b; s++) keyRows.push(suffixStart + s);

      for (let h = 0; h < nHead; h++) {
        const kv = Math.floor(h / group);
        const qBase = (b * nHead + h) * headDim;

        const scores = new Float64Array(keyRows.length); // [keys]
        let max = -Infinity;
        keyRows.forEach((row, j) => {
          const kBase = (row * nHeadKv + kv) * headDim;
          let dot = 0;
          for (let c = 0; c < headDim; c++) dot += q[qBase + c]! * kCache[kBase + c]!;
          scores[j] = dot * scale;
          max = Math.max(max, scores[j]!);
        });

        let sum = 0;
        for (let j = 0; j < scores.length; j++) {
          scores[j] = Math.exp(scores[j]! - max);
          sum += scores[j]!;
        }

        for (let c = 0; c < headDim; c++) {
          let value = 0;
          keyRows.forEach((row, j) => {
            value += scores[j]! * vCache[(row * nHeadKv + kv) * headDim + c]!;
          });
          out[qBase + c] = value / sum;
        }
      }
    }
    segmentStart += length;
  }
  return out;
}
