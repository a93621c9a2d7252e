// Optional emulation of how llama.cpp's CPU backend rounds activations before a matrix product.
//
// For a weight stored as a quantized type, ggml first quantizes each activation row to the
// type's "vec_dot" partner and multiplies integer blocks, so the product uses rounded inputs:
//   Q8_0, Q4_0         -> Q8_0: per 32 values, d = max|x| / 127 stored as f16, q = round(x / d)
//   Q4_1               -> Q8_1: the same d and q as Q8_0, plus s = d * sum(q) stored as f16
//   Q4_K, Q5_K, Q6_K   -> Q8_K: per 256 values, d = -max/127 for the value of largest magnitude,
//                         stored as f32, q = min(127, round(x / d))
//   F16, BF16          -> the activation converted to F16 or BF16
// The Q4_1 dot product adds m * s for each block, where m is the weight block's minimum, in place
// of m * d * sum(q). `matmulLikeLlamaCpp` adds that difference when it has the block minimums.
// Measured against llama.cpp (node-llama-cpp 3.21.1, CPU): on the stories260K model with Q8_0
// matrices the plain float32 pass differed by up to 0.38 in log-probability and this emulation by
// 5e-6, over sequences of 5 to 103 tokens. On 1- and 2-layer random models with one matrix role
// at a time stored as F16, BF16, Q8_0, Q4_1 (with block minimums) or Q4_K, it matched to 1e-6 on
// sequences of 1 to 32 tokens, apart from occasional rounding flips (below).
// NOTE: the rounding makes the result discontinuous. A value within a few float32 ulps of a
// rounding boundary can round to the other side in llama.cpp, whose float32 arithmetic (norms,
// RoPE, softmax, accumulation order) differs from this pass in the last bits, and the changed
// output then flips other roundings downstream. On random-weight models with logits of standard
// deviation 3, forcing one flip moved last-token log-probabilities by 4e-2 at the median, so the
// quantized parity fixtures use smaller weight scales (QUANT_SCALES in src/fixtures/spec.ts).

import { InvalidInputError } from "../errors.js";
import { bf16BitsToF32, f32ToBF16Bits, roundToF16 } from "../gguf/half.js";
import { GGMLType } from "../gguf/types.js";
import { matmul } from "./matmul.js";

/** A matrix's stored type in the file and, for Q4_1, its block minimums [outFeatures, inFeatures / 32]. */
export interface StoredMatrix {
  type: GGMLType | undefined;
  blockMinimums?: Float32Array;
}

/**
 * Returns Y [rows, outFeatures] = X [rows, inFeatures] · Wᵀ + bias as llama.cpp's CPU backend
 * computes it for a weight stored as `stored.type`. The input is rounded first. For Q4_1 the Q8_1
 * sum term is added when `stored.blockMinimums` is given. Without it, Q4_1 models differed from
 * llama.cpp by 1e-2 to 1e-1 in log-probability.
 */
export function matmulLikeLlamaCpp(input: Float32Array, weight: Float32Array, inFeatures: number, outFeatures: number, stored: StoredMatrix, bias?: Float32Array): Float32Array {
  const output = matmul(roundActivationsLikeLlamaCpp(input, inFeatures, stored.type), weight, inFeatures, outFeatures, bias);
  if (stored.type === GGMLType.Q4_1 && stored.blockMinimums !== undefined) {
    addQ8_1SumTerms(output, input, inFeatures, outFeatures, stored.blockMinimums);
  }
  return output;
}

/** Returns `input` [rows, inFeatures] rounded as llama.cpp rounds activations for `weightType`. */
export function roundActivationsLikeLlamaCpp(input: Float32Array, inFeatures: number, weightType: GGMLType | undefined): Float32Array {
  switch (weightType) {
    case GGMLType.Q8_0:
    case GGMLType.Q4_0:
    case GGMLType.Q4_1:
      return roundBlocks(input, inFeatures, 32, roundBlockQ8_0);
    case GGMLType.Q4_K:
    case GGMLType.Q5_K:
    case GGMLType.Q6_K:
      return roundBlocks(input, inFeatures, 256, roundBlockQ8_K);
    case GGMLType.F16:
      return input.map(roundToF16);
    case GGMLType.BF16:
      return input.map((value) => bf16BitsToF32(f32ToBF16Bits(value)));
    default:
      return input;
  }
}

function roundBlocks(input: Float32Array, inFeatures: number, blockSize: number, roundBlock: (values: Float32Array, start: number, end: number) => void): Float32Array {
  const out = new Float32Array(input);
  for (let rowStart = 0; rowStart < out.length; rowStart += inFeatures) {
    const rowEnd = rowStart + inFeatures;
    for (let start = rowStart; start < rowEnd; start += blockSize) roundBlock(out, start, Math.min(start + blockSize, rowEnd));
  }
  return out;
}

function roundBlockQ8_0(values: Float32Array, start: number, end: number): void {
  if (fillNonFiniteBlock(values, start, end)) return;
  let amax = 0;
  for (let i = start; i < end; i++) amax = Math.max(amax, Math.abs(values[i]!));
  const d = Math.fround(amax / 127);
  const inverse = amax === 0 ? 0 : Math.fround(127 / amax);
  const storedD = roundToF16(d);

  // A scale of 0 makes every product with the block 0. An infinite one (past the f16 range) makes it non-finite.
  if (storedD === 0 || !Number.isFinite(storedD)) {
    values.fill(storedD === 0 ? 0 : Number.NaN, start, end);
    return;
  }
  for (let i = start; i < end; i++) values[i] = storedD * roundHalfEven(Math.fround(values[i]! * inverse));
}

/** Fills a block that holds a NaN or an infinity with NaN, so later checks see it; returns whether it did. */
function fillNonFiniteBlock(values: Float32Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    if (!Number.isFinite(values[i]!)) {
      values.fill(Number.NaN, start, end);
      return true;
    }
  }
  return false;
}

function roundBlockQ8_K(values: Float32Array, start: number, end: number): void {
  if (fillNonFiniteBlock(values, start, end)) return;
  let extreme = 0;
  for (let i = start; i < end; i++) if (Math.abs(values[i]!) > Math.abs(extreme)) extreme = values[i]!;
  if (extreme === 0) {
    values.fill(0, start, end);
    return;
  }
  const inverseScale = Math.fround(-127 / extreme);
  const d = Math.fround(1 / inverseScale);
  if (d === 0) {
    values.fill(0, start, end);
    return;
  }
  for (let i = start; i < end; i++) values[i] = d * Math.min(127, roundHalfEven(Math.fround(inverseScale * values[i]!)));
}

function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/**
 * Adds m * (s - d * sum(q)) for every Q4_1 weight block to `output` [rows, outFeatures]. A product
 * with Q8_0-rounded input misses this term, because llama.cpp multiplies the weight block's
 * minimum m by the f16-rounded sum s in place of the exact d * sum(q).
 */
function addQ8_1SumTerms(output: Float32Array, input: Float32Array, inFeatures: number, outFeatures: number, blockMinimums: Float32Array): void {
  const blockSize = 32;
  const blocksPerRow = inFeatures / blockSize;
  if (!Number.isInteger(blocksPerRow) || blockMinimums.length !== outFeatures * blocksPerRow) {
    throw new InvalidInputError(
      `matmulLikeLlamaCpp: ${blockMinimums.length} Q4_1 block minimums do not match ${outFeatures} rows of ${inFeatures} inputs in blocks of ${blockSize}; load them from the same tensor`,
    );
  }
  const rows = input.length / inFeatures;

  // sumErrors: [rows, blocksPerRow], s - d * sum(q) of each activation block.
  const sumErrors = new Float64Array(rows * blocksPerRow);
  for (let block = 0; block < sumErrors.length; block++) {
    const start = block * blockSize;
    let amax = 0;
    for (let i = start; i < start + blockSize; i++) amax = Math.max(amax, Math.abs(input[i]!));
    const d = Math.fround(amax / 127);
    const inverse = Math.fround(127 / amax);
    // The rounded block is all zeros or all NaN there (roundBlockQ8_0), so it has no sum term.
    if (!Number.isFinite(amax) || !Number.isFinite(inverse) || !Number.isFinite(roundToF16(d)) || roundToF16(d) === 0) continue;
    let quantSum = 0;
    for (let i = start; i < start + blockSize; i++) quantSum += roundHalfEven(Math.fround(input[i]! * inverse));
    sumErrors[block] = roundToF16(Math.fround(d * quantSum)) - roundToF16(d) * quantSum;
  }

  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outFeatures; o++) {
      let correction = 0;
      for (let b = 0; b < blocksPerRow; b++) correction += blockMinimums[o * blocksPerRow + b]! * sumErrors[r * blocksPerRow + b]!;
      output[r * outFeatures + o] = output[r * outFeatures + o]! + correction;
    }
  }
}
