// Optional emulation of how llama.cpp's CPU backend rounds activations before a matrix product.
//
// For a weight stored as a quantized type, ggml first quantizes each activation row to the
// type's "vec_dot" partner and multiplies integer blocks, so the product uses rounded inputs:
//   Q8_0, Q4_0         -> Q8_0: per 32 values, d = max|x| / 127 stored as f16, q = round(x / d)
//   Q4_1               -> Q8_1: the same values as Q8_0
//   Q4_K, Q5_K, Q6_K   -> Q8_K: per 256 values, d = -max/127 for the value of largest magnitude,
//                         stored as f32, q = min(127, round(x / d))
//   F16, BF16          -> the activation converted to F16 or BF16
// Measured against llama.cpp (node-llama-cpp 3.21.1, CPU): on the stories260K model with Q8_0
// matrices the plain float32 pass differed by up to 0.38 in log-probability and this emulation by
// 5e-6, over sequences of 5 to 103 tokens. On the random models of the parity tests it matched
// Q8_0, Q4_0 and Q6_K to 1e-6 on sequences of up to 8 tokens.
// NOTE: it is approximate elsewhere. Some longer batches, and Q4_1, Q4_K and Q5_K weights with
// nonzero block minimums, still differed by up to about 4e-2, and BF16 by 5e-3. The kernels
// llama.cpp picks there round differently in ways not reproduced here.

import { bf16BitsToF32, f32ToBF16Bits, roundToF16 } from "../gguf/half.js";
import { GGMLType } from "../gguf/types.js";

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
  let amax = 0;
  for (let i = start; i < end; i++) amax = Math.max(amax, Math.abs(values[i]!));
  const d = Math.fround(amax / 127);
  const inverse = amax === 0 ? 0 : Math.fround(127 / amax);
  const storedD = roundToF16(d);
  for (let i = start; i < end; i++) values[i] = storedD * roundHalfEven(Math.fround(values[i]! * inverse));
}

function roundBlockQ8_K(values: Float32Array, start: number, end: number): void {
  let extreme = 0;
  for (let i = start; i < end; i++) if (Math.abs(values[i]!) > Math.abs(extreme)) extreme = values[i]!;
  if (extreme === 0) {
    values.fill(0, start, end);
    return;
  }
  const inverseScale = Math.fround(-127 / extreme);
  const d = Math.fround(1 / inverseScale);
  for (let i = start; i < end; i++) values[i] = d * Math.min(127, roundHalfEven(Math.fround(inverseScale * values[i]!)));
}

function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const fraction = value - floor;
  if (fraction > 0.5) return floor + 1;
  if (fraction < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}
