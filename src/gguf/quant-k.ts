// K-quants: ggml's 256-element super-blocks, split into sub-blocks that each carry their own scale.
//
// Block layouts (little-endian):
//   Q4_K, 144 bytes: d: f16 | dmin: f16 | scales: u8[12] | qs: u8[128]
//   Q5_K, 176 bytes: d: f16 | dmin: f16 | scales: u8[12] | qh: u8[32] | qs: u8[128]
//   Q6_K, 210 bytes: ql: u8[128] | qh: u8[64] | scales: int8[16] | d: f16
//
// Q4_K and Q5_K have 8 sub-blocks of 32 elements, element x = d * sc[s] * q - dmin * m[s], where
// sc[s] and m[s] are 6-bit values packed into the 12 scale bytes (see `unpackScaleMin`).
// Each 64-element chunk c uses qs[32c .. 32c + 31]: the low nibbles hold sub-block 2c, the high
// nibbles sub-block 2c + 1. Q5_K adds a fifth bit, qh[l] bit 2c (sub-block 2c) or bit 2c + 1.
//
// Q6_K has 16 sub-blocks of 16 elements with signed 8-bit scales, x = d * scales[s] * (q - 32),
// q a 6-bit value: 4 low bits from ql and 2 high bits from qh (see `dequantizeQ6_K`).

import { f16LookupTable } from "./half.js";
import { clamp, writeF16 } from "./quant-legacy.js";

const SUPER = 256;

/**
 * Reads sub-block `s` (0..7) scale and min from the 12 packed bytes at `offset`. Bytes 0-3 hold
 * the scales of sub-blocks 0-3 in their low 6 bits, bytes 4-7 the mins of sub-blocks 0-3. Sub-blocks
 * 4-7 keep their low 4 bits in bytes 8-11 (scale in the low nibble, min in the high nibble) and
 * their top 2 bits in the top 2 bits of bytes 0-3 (scale) and 4-7 (min).
 */
export function unpackScaleMin(bytes: Uint8Array, offset: number, s: number): [scale: number, min: number] {
  if (s < 4) return [bytes[offset + s]! & 63, bytes[offset + s + 4]! & 63];
  const low = bytes[offset + s + 4]!;
  const scale = (low & 0xf) | ((bytes[offset + s - 4]! >>> 6) << 4);
  const min = (low >>> 4) | ((bytes[offset + s]! >>> 6) << 4);
  return [scale, min];
}

/** Packs eight 6-bit scales and mins into 12 bytes at `offset`, the inverse of `unpackScaleMin`. */
export function packScaleMin(bytes: Uint8Array, offset: number, scales: ArrayLike<number>, mins: ArrayLike<number>): void {
  for (let j = 0; j < 4; j++) {
    const highScale = scales[j + 4]!;
    const highMin = mins[j + 4]!;
    bytes[offset + j] = (scales[j]! & 63) | ((highScale >>> 4) << 6);
    bytes[offset + j + 4] = (mins[j]! & 63) | ((highMin >>> 4) << 6);
    bytes[offset + j + 8] = (highScale & 0xf) | ((highMin & 0xf) << 4);
  }
}

export function dequantizeQ4_K(bytes: Uint8Array, out: Float32Array): void {
  dequantizeQ45K(bytes, out, false);
}

export function dequantizeQ5_K(bytes: Uint8Array, out: Float32Array): void {
  dequantizeQ45K(bytes, out, true);
}

function dequantizeQ45K(bytes: Uint8Array, out: Float32Array, fiveBit: boolean): void {
  const f16 = f16LookupTable();
  const blockBytes = fiveBit ? 176 : 144;
  const qsStart = fiveBit ? 48 : 16;
  const blocks = out.length / SUPER;

  for (let b = 0; b < blocks; b++) {
    const base = b * blockBytes;
    const d = f16[bytes[base]! | (bytes[base + 1]! << 8)]!;
    const dmin = f16[bytes[base + 2]! | (bytes[base + 3]! << 8)]!;

    for (let chunk = 0; chunk < 4; chunk++) {
      const [scaleLow, minLow] = unpackScaleMin(bytes, base + 4, 2 * chunk);
      const [scaleHigh, minHigh] = unpackScaleMin(bytes, base + 4, 2 * chunk + 1);
      const dLow = d * scaleLow;
      const mLow = dmin * minLow;
      const dHigh = d * scaleHigh;
      const mHigh = dmin * minHigh;
      const qs = base + qsStart + 32 * chunk;
      const o = b * SUPER + 64 * chunk;

      for (let l = 0; l < 32; l++) {
        const packed = bytes[qs + l]!;
        let qLow = packed & 0xf;
        let qHigh = packed >>> 4;
        if (fiveBit) {
          const highBits = bytes[base + 16 + l]!;
          qLow |= ((highBits >>> (2 * chunk)) & 1) << 4;
          qHigh |= ((highBits >>> (2 * chunk + 1)) & 1) << 4;
        }
        out[o + l] = dLow * qLow - mLow;
        out[o + 32 + l] = dHigh * qHigh - mHigh;
      }
    }
  }
}

export function dequantizeQ6_K(bytes: Uint8Array, out: Float32Array): void {
  const f16 = f16LookupTable();
  const blocks = out.length / SUPER;

  for (let b = 0; b < blocks; b++) {
    const base = b * 210;
    const d = f16[bytes[base + 208]! | (bytes[base + 209]! << 8)]!;

    // Each 128-element half uses 64 ql bytes, 32 qh bytes and 8 scales. For l in 0..31, ql[l]
    // contains elements l (low nibble) and l + 64 (high nibble), ql[l + 32] elements l + 32 and
    // l + 96, and qh[l] the high 2 bits of elements l, l + 32, l + 64, l + 96 from bit 0 up.
    for (let half = 0; half < 2; half++) {
      const ql = base + 64 * half;
      const qh = base + 128 + 32 * half;
      const sc = base + 192 + 8 * half;
      const o = b * SUPER + 128 * half;

      for (let l = 0; l < 32; l++) {
        const s = l >>> 4;
        const low0 = bytes[ql + l]!;
        const low1 = bytes[ql + l + 32]!;
        const high = bytes[qh + l]!;
        const q0 = ((low0 & 0xf) | ((high & 3) << 4)) - 32;
        const q1 = ((low1 & 0xf) | (((high >>> 2) & 3) << 4)) - 32;
        const q2 = ((low0 >>> 4) | (((high >>> 4) & 3) << 4)) - 32;
        const q3 = ((low1 >>> 4) | (((high >>> 6) & 3) << 4)) - 32;
        out[o + l] = d * int8(bytes[sc + s]!) * q0;
        out[o + l + 32] = d * int8(bytes[sc + s + 2]!) * q1;
        out[o + l + 64] = d * int8(bytes[sc + s + 4]!) * q2;
        out[o + l + 96] = d * int8(bytes[sc + s + 6]!) * q3;
      }
    }
  }
}

function int8(byte: number): number {
  return (byte << 24) >> 24;
}

/**
 * Fits x ≈ scale * q - offset with q in 0..maxLevel and offset >= 0 for one sub-block. Tries a
 * range of step sizes around (max - min) / maxLevel, refits scale and offset by least squares on
 * each rounding, and keeps the fit with the smallest squared error.
 */
function fitScaleOffset(values: Float32Array, start: number, count: number, maxLevel: number): [scale: number, offset: number] {
  let min = 0;
  let max = -Infinity;
  for (let i = 0; i < count; i++) {
    min = Math.min(min, values[start + i]!);
    max = Math.max(max, values[start + i]!);
  }
  if (max <= min) return [0, -min];

  let bestScale = (max - min) / maxLevel;
  let bestOffset = -min;
  let bestError = squaredError(values, start, count, maxLevel, bestScale, bestOffset);

  for (let step = -10; step <= 10; step++) {
    const inverse = (maxLevel + step * 0.1) / (max - min);
    if (inverse <= 0) continue;

    // Least-squares fit of x = a * q + c over the sub-block for this rounding.
    let sumQ = 0;
    let sumQQ = 0;
    let sumX = 0;
    let sumQX = 0;
    for (let i = 0; i < count; i++) {
      const x = values[start + i]!;
      const q = clamp(Math.round((x - min) * inverse), 0, maxLevel);
      sumQ += q;
      sumQQ += q * q;
      sumX += x;
      sumQX += q * x;
    }
    const determinant = count * sumQQ - sumQ * sumQ;
    if (determinant <= 0) continue;
    let a = (count * sumQX - sumQ * sumX) / determinant;
    let c = (sumQQ * sumX - sumQ * sumQX) / determinant;
    if (c > 0) {
      // The format stores a non-negative offset to subtract, so a positive intercept is clamped to 0.
      c = 0;
      a = sumQX / sumQQ;
    }
    if (a <= 0) continue;

    const error = squaredError(values, start, count, maxLevel, a, -c);
    if (error < bestError) {
      bestError = error;
      bestScale = a;
      bestOffset = -c;
    }
  }
  return [bestScale, bestOffset];
}

function squaredError(values: Float32Array, start: number, count: number, maxLevel: number, scale: number, offset: number): number {
  let error = 0;
  for (let i = 0; i < count; i++) {
    const x = values[start + i]!;
    const q = scale === 0 ? 0 : clamp(Math.round((x + offset) / scale), 0, maxLevel);
    const difference = scale * q - offset - x;
    error += difference * difference;
  }
  return error;
}

export function quantizeQ4_K(values: Float32Array, out: Uint8Array): void {
  quantizeQ45K(values, out, false);
}

export function quantizeQ5_K(values: Float32Array, out: Uint8Array): void {
  quantizeQ45K(values, out, true);
}

function quantizeQ45K(values: Float32Array, out: Uint8Array, fiveBit: boolean): void {
  const blockBytes = fiveBit ? 176 : 144;
  const qsStart = fiveBit ? 48 : 16;
  const maxLevel = fiveBit ? 31 : 15;
  const blocks = values.length / SUPER;
  const subScales = new Float64Array(8);
  const subOffsets = new Float64Array(8);
  const packedScales = new Uint8Array(8);
  const packedMins = new Uint8Array(8);

  for (let b = 0; b < blocks; b++) {
    const base = b * blockBytes;
    const o = b * SUPER;
    out.fill(0, base, base + blockBytes);

    // Step 1: a float scale and offset per 32-element sub-block.
    for (let s = 0; s < 8; s++) {
      const [scale, offset] = fitScaleOffset(values, o + 32 * s, 32, maxLevel);
      subScales[s] = scale;
      subOffsets[s] = offset;
    }

    // Step 2: quantize those to 6 bits against the super-block's f16 d and dmin.
    const d = writeF16(out, base, Math.max(...subScales) / 63);
    const dmin = writeF16(out, base + 2, Math.max(...subOffsets) / 63);
    for (let s = 0; s < 8; s++) {
      packedScales[s] = d === 0 ? 0 : clamp(Math.round(subScales[s]! / d), 0, 63);
      packedMins[s] = dmin === 0 ? 0 : clamp(Math.round(subOffsets[s]! / dmin), 0, 63);
    }
    packScaleMin(out, base + 4, packedScales, packedMins);

    // Step 3: the element levels against the scales as stored.
    for (let s = 0; s < 8; s++) {
      const scale = d * packedScales[s]!;
      const offset = dmin * packedMins[s]!;
      const chunk = s >>> 1;
      const highNibble = (s & 1) === 1;
      for (let l = 0; l < 32; l++) {
        const x = values[o + 32 * s + l]!;
        const q = scale === 0 ? 0 : clamp(Math.round((x + offset) / scale), 0, maxLevel);
        const qsIndex = base + qsStart + 32 * chunk + l;
        out[qsIndex] = out[qsIndex]! | ((q & 0xf) << (highNibble ? 4 : 0));
        if (fiveBit && q > 15) out[base + 16 + l] = out[base + 16 + l]! | (1 << s);
      }
    }
  }
}

export function quantizeQ6_K(values: Float32Array, out: Uint8Array): void {
  const blocks = values.length / SUPER;
  const subScales = new Float64Array(16);
  const levels = new Uint8Array(SUPER);

  for (let b = 0; b < blocks; b++) {
    const base = b * 210;
    const o = b * SUPER;
    out.fill(0, base, base + 210);

    // Step 1: per 16-element sub-block, the element of largest magnitude maps to level -32.
    let maxAbsScale = 0;
    for (let s = 0; s < 16; s++) {
      let extreme = 0;
      for (let i = 0; i < 16; i++) {
        const v = values[o + 16 * s + i]!;
        if (Math.abs(v) > Math.abs(extreme)) extreme = v;
      }
      subScales[s] = extreme / -32;
      maxAbsScale = Math.max(maxAbsScale, Math.abs(subScales[s]!));
    }

    // Step 2: signed 8-bit sub-block scales against the f16 super-block scale d.
    const d = writeF16(out, base + 208, maxAbsScale / 127);
    for (let s = 0; s < 16; s++) {
      const scale = d === 0 ? 0 : clamp(Math.round(subScales[s]! / d), -128, 127);
      out[base + 192 + s] = scale & 0xff;

      const step = d * scale;
      for (let i = 0; i < 16; i++) {
        const x = values[o + 16 * s + i]!;
        levels[16 * s + i] = step === 0 ? 32 : clamp(Math.round(x / step), -32, 31) + 32;
      }
    }

    // Step 3: scatter the 6-bit levels into ql and qh, the inverse of `dequantizeQ6_K`.
    for (let half = 0; half < 2; half++) {
      const ql = base + 64 * half;
      const qh = base + 128 + 32 * half;
      const e = 128 * half;
      for (let l = 0; l < 32; l++) {
        const q0 = levels[e + l]!;
        const q1 = levels[e + l + 32]!;
        const q2 = levels[e + l + 64]!;
        const q3 = levels[e + l + 96]!;
        out[ql + l] = (q0 & 0xf) | ((q2 & 0xf) << 4);
        out[ql + l + 32] = (q1 & 0xf) | ((q3 & 0xf) << 4);
        out[qh + l] = (q0 >>> 4) | ((q1 >>> 4) << 2) | ((q2 >>> 4) << 4) | ((q3 >>> 4) << 6);
      }
    }
  }
}
