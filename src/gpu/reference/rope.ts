// Plain-loop reference of rotary position embedding, with angles computed in float64.

export interface RopeReferenceArgs {
  tokens: number;
  heads: number;
  headDim: number;
  rotDims: number;
  firstPosition: number;
  freqBase: number;
  freqScale: number;
  neox: boolean;
}

/**
 * Returns a rotated copy of x [tokens, heads, headDim]: pair (a, b) of token t and pair index i
 * turns by (firstPosition + t) * freqScale * freqBase^(-2i / rotDims). Pairs are (2i, 2i + 1), or
 * (i, i + rotDims / 2) when `neox`; dimensions from rotDims up are copied unchanged.
 */
export function ropeReference(x: Float32Array, args: RopeReferenceArgs): Float32Array {
  const { tokens, heads, headDim, rotDims, firstPosition, freqBase, freqScale, neox } = args;
  const out = Float32Array.from(x);
  const half = rotDims / 2;

  for (let t = 0; t < tokens; t++) {
    for (let h = 0; h < heads; h++) {
      const base = (t * heads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const angle = (firstPosition + t) * freqScale * Math.pow(freqBase, (-2 * i) / rotDims);
        const ia = neox ? base + i : base + 2 * i;
        const ib = neox ? base + i + half : base + 2 * i + 1;
        const a = x[ia]!;
        const b = x[ib]!;
        out[ia] = a * Math.cos(angle) - b * Math.sin(angle);
        out[ib] = a * Math.sin(angle) + b * Math.cos(angle);
      }
    }
  }
  return out;
}
