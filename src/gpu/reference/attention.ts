// Plain-loop reference of causal grouped-query attention against a KV cache, in float64.

export interface AttentionReferenceArgs {
  tokens: number;
  nHead: number;
  nHeadKv: number;
  headDim: number;
  firstPosition: number;
  scale: number;
}

/**
 * Returns out [tokens, nHead, headDim] for q [tokens, nHead, headDim] and caches
 * [nCtx, nHeadKv, headDim]: query i attends to cache rows 0 .. firstPosition + i with a full
 * two-pass softmax, head h reading kv head h / (nHead / nHeadKv).
 */
export function attentionReference(q: Float32Array, kCache: Float32Array, vCache: Float32Array, args: AttentionReferenceArgs): Float32Array {
  const { tokens, nHead, nHeadKv, headDim, firstPosition, scale } = args;
  const out = new Float32Array(tokens * nHead * headDim);
  const group = nHead / nHeadKv;

  for (let i = 0; i < tokens; i++) {
    const keys = firstPosition + i + 1;
    for (let h = 0; h < nHead; h++) {
      const kv = Math.floor(h / group);
      const qBase = (i * nHead + h) * headDim;

      const scores = new Float64Array(keys); // [keys]
      let max = -Infinity;
      for (let j = 0; j < keys; j++) {
        const kBase = (j * nHeadKv + kv) * headDim;
        let dot = 0;
        for (let c = 0; c < headDim; c++) dot += q[qBase + c]! * kCache[kBase + c]!;
        scores[j] = dot * scale;
        max = Math.max(max, scores[j]!);
      }

      let sum = 0;
      for (let j = 0; j < keys; j++) {
        scores[j] = Math.exp(scores[j]! - max);
        sum += scores[j]!;
      }

      for (let c = 0; c < headDim; c++) {
        let value = 0;
        for (let j = 0; j < keys; j++) value += scores[j]! * vCache[(j * nHeadKv + kv) * headDim + c]!;
        out[qBase + c] = value / sum;
      }
    }
  }
  return out;
}
