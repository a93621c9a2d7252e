// Plain-loop references for the elementwise kernels (add, SwiGLU), computed in float64.

/** Returns x + y; both [n]. */
export function addReference(x: Float32Array, y: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i]! + y[i]!;
  return out;
}

/** Returns silu(gate) * up, with silu(g) = g / (1 + exp(-g)); both [n]. */
export function swigluReference(gate: Float32Array, up: Float32Array): Float32Array {
  const out = new Float32Array(gate.length);
  for (let i = 0; i < gate.length; i++) {
    const g = gate[i]!;
    out[i] = (g / (1 + Math.exp(-g))) * up[i]!;
  }
  return out;
}
