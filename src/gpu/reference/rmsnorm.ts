// Plain-loop reference of RMSNorm, accumulating in float64.

/** Returns [rows, dim]: x[firstRow + r] / sqrt(mean(x[firstRow + r]^2) + eps) * weight, for x [*, dim] and weight [dim]. */
export function rmsnormReference(x: Float32Array, weight: Float32Array, dim: number, eps: number, firstRow = 0, rows = x.length / dim - firstRow): Float32Array {
  const out = new Float32Array(rows * dim);
  for (let r = 0; r < rows; r++) {
    const base = (firstRow + r) * dim;
    let sumSquares = 0;
    for (let c = 0; c < dim; c++) sumSquares += x[base + c]! * x[base + c]!;
    const scale = 1 / Math.sqrt(sumSquares / dim + eps);
    for (let c = 0; c < dim; c++) out[r * dim + c] = x[base + c]! * scale * weight[c]!;
  }
  return out;
}
