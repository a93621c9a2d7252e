// Per-kernel tolerances for GPU-vs-reference tests: a value passes when
// |gpu - ref| <= atol + rtol * |ref|. Every GPU test reads its tolerance from this one table.
//
// The references accumulate in float64 while the kernels use f32 with a different summation
// order, so the bounds scale with the reduction length the tests use (up to a few hundred).

export interface Tolerance {
  atol: number;
  rtol: number;
}

export const TOLERANCES = {
  // Elementwise f32 add: exact up to rounding of one addition.
  add: { atol: 1e-6, rtol: 1e-6 },
  // silu(gate) * up with the GPU's exp.
  swiglu: { atol: 1e-5, rtol: 1e-5 },
  // Sum of squares over one row, a square root and a scale.
  rmsnorm: { atol: 1e-5, rtol: 1e-4 },
  // Angles pos * base^(-2i/d) in f32 at positions below about 1000 lose ~1e-4 rad.
  rope: { atol: 2e-4, rtol: 1e-4 },
  // Online softmax over up to a few hundred keys, then a weighted sum of V rows.
  attention: { atol: 1e-5, rtol: 1e-4 },
  // A row copy after dequantization; the reference dequantizes with the same f16 scales.
  embedding: { atol: 1e-6, rtol: 1e-6 },
  // RMSNorm, dot products of length `dim`, then log-softmax over the requested ids.
  classLogits: { atol: 1e-4, rtol: 1e-4 },
  // Matrix multiply y = x W^T with f32 accumulation over k (up to a few hundred).
  matmul: { atol: 1e-4, rtol: 1e-4 },
  // Matrix multiply on quantized weights: the decoded weights match the reference exactly, so
  // only the summation order differs from `matmul`.
  matmulQuantized: { atol: 1e-4, rtol: 1e-4 },
  // Matrix multiply with f16 weight tiles, against a reference that rounds the dequantized weights
  // to f16 as well, so only the summation order differs. A weight whose f32 value is computed in
  // another order on the two sides (d * scale * q - dmin * min) could still round to the
  // neighbouring f16 value, an error of 2^-11 * |x * w|.
  matmulF16Weights: { atol: 1e-4, rtol: 1e-4 },
  // LoRA delta added onto y: two f32 dot products, of length k and then of length rank (up to 70).
  lora: { atol: 1e-5, rtol: 1e-4 },
  // Base matmul plus LoRA delta on the GPU against x (W + scale B A)^T merged in float64: the
  // f32 sums of the matmul and of the delta are rounded separately.
  loraMerged: { atol: 2e-4, rtol: 1e-4 },
  // Online softmax over the prefix keys and the segment's own rows, as for `attention`.
  segmentAttention: { atol: 1e-5, rtol: 1e-4 },
} as const satisfies Record<string, Tolerance>;

export type KernelName = keyof typeof TOLERANCES;
