// Dense products with row-major weights, the layout GGUF stores: a tensor with dims [in, out]
// is `out` rows of `in` contiguous elements.

/**
 * Returns Y [rows, outFeatures] = X [rows, inFeatures] · Wᵀ, where W is [outFeatures, inFeatures]
 * row-major, plus `bias` [outFeatures] when given. Each weight row is read once per call and
 * reused for every input row; dot products accumulate in float64.
 */
export function matmul(input: Float32Array, weight: Float32Array, inFeatures: number, outFeatures: number, bias?: Float32Array): Float32Array {
  const rows = input.length / inFeatures;
  const output = new Float32Array(rows * outFeatures);

  for (let o = 0; o < outFeatures; o++) {
    const weightStart = o * inFeatures;
    const biasValue = bias === undefined ? 0 : bias[o]!;
    for (let r = 0; r < rows; r++) {
      output[r * outFeatures + o] = dot(weight, weightStart, input, r * inFeatures, inFeatures) + biasValue;
    }
  }
  return output;
}

/** Returns the dot product of a[aStart .. aStart + length) and b[bStart .. bStart + length). */
export function dot(a: Float32Array, aStart: number, b: Float32Array, bStart: number, length: number): number {
  let sum0 = 0;
  let sum1 = 0;
  let sum2 = 0;
  let sum3 = 0;
  let i = 0;
  for (; i + 4 <= length; i += 4) {
    sum0 += a[aStart + i]! * b[bStart + i]!;
    sum1 += a[aStart + i + 1]! * b[bStart + i + 1]!;
    sum2 += a[aStart + i + 2]! * b[bStart + i + 2]!;
    sum3 += a[aStart + i + 3]! * b[bStart + i + 3]!;
  }
  for (; i < length; i++) sum0 += a[aStart + i]! * b[bStart + i]!;
  return sum0 + sum1 + sum2 + sum3;
}

/** Adds `addend` into `target` element-wise (the residual connection). */
export function addInPlace(target: Float32Array, addend: Float32Array): void {
  for (let i = 0; i < target.length; i++) target[i] = target[i]! + addend[i]!;
}
