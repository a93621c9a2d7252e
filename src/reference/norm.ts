// RMSNorm over rows: y = x / sqrt(mean(x^2) + epsilon) * weight.

/**
 * Normalizes each `width`-element row of `input` into `output` (which may be `input`), scaling by
 * `weight` [width]. Accumulates the sum of squares in float64.
 */
export function rmsNorm(input: Float32Array, weight: Float32Array, epsilon: number, width: number, output: Float32Array = new Float32Array(input.length)): Float32Array {
  const rows = input.length / width;
  for (let r = 0; r < rows; r++) {
    const start = r * width;

    let sumSquares = 0;
    for (let i = 0; i < width; i++) sumSquares += input[start + i]! * input[start + i]!;
    const scale = 1 / Math.sqrt(sumSquares / width + epsilon);

    for (let i = 0; i < width; i++) output[start + i] = input[start + i]! * scale * weight[i]!;
  }
  return output;
}
