// Q8_0, Q4_0 and Q4_1: ggml's 32-element blocks with one f16 scale (and, for Q4_1, one f16 minimum).
//
// Block layouts (little-endian):
//   Q8_0, 34 bytes: d: f16 | qs: int8[32]               x[i] = d * qs[i]
//   Q4_0, 18 bytes: d: f16 | qs: u8[16]                 x[i] = d * (nibble(i) - 8)
//   Q4_1, 20 bytes: d: f16 | m: f16 | qs: u8[16]        x[i] = d * nibble(i) + m
// For the 4-bit types, byte j contains element j in its low nibble and element j + 16 in its high nibble.

import { f16LookupTable, f32ToF16Bits } from "./half.js";

const BLOCK = 32;

export function dequantizeQ8_0(bytes: Uint8Array, out: Float32Array): void {
  const f16 = f16LookupTable();
  const blocks = out.length / BLOCK;
  for (let b = 0; b < blocks; b++) {
    const base = b * 34;
    const d = f16[bytes[base]! | (bytes[base + 1]! << 8)]!;
    const o = b * BLOCK;
    for (let i = 0; i < BLOCK; i++) {
      const q = (bytes[base + 2 + i]! << 24) >> 24; // sign-extend int8
      out[o + i] = d * q;
    }
  }
}

export function dequantizeQ4_0(bytes: Uint8Array, out: Float32Array): void {
  const f16 = f16LookupTable();
  const blocks = out.length / BLOCK;
  for (let b = 0; b < blocks; b++) {
    const base = b * 18;
    const d = f16[bytes[base]! | (bytes[base + 1]! << 8)]!;
    const o = b * BLOCK;
    for (let j = 0; j < 16; j++) {
      const packed = bytes[base + 2 + j]!;
      out[o + j] = d * ((packed & 0xf) - 8);
      out[o + j + 16] = d * ((packed >>> 4) - 8);
    }
  }
}

export function dequantizeQ4_1(bytes: Uint8Array, out: Float32Array): void {
  const f16 = f16LookupTable();
  const blocks = out.length / BLOCK;
  for (let b = 0; b < blocks; b++) {
    const base = b * 20;
    const d = f16[bytes[base]! | (bytes[base + 1]! << 8)]!;
    const m = f16[bytes[base + 2]! | (bytes[base + 3]! << 8)]!;
    const o = b * BLOCK;
    for (let j = 0; j < 16; j++) {
      const packed = bytes[base + 4 + j]!;
      out[o + j] = d * (packed & 0xf) + m;
      out[o + j + 16] = d * (packed >>> 4) + m;
    }
  }
}

/** Writes an f16 value at `offset`, little-endian, and returns the value the f16 rounding kept. */
export function writeF16(bytes: Uint8Array, offset: number, value: number): number {
  const bits = f32ToF16Bits(value);
  bytes[offset] = bits & 0xff;
  bytes[offset + 1] = bits >>> 8;
  return f16LookupTable()[bits]!;
}

export function quantizeQ8_0(values: Float32Array, out: Uint8Array): void {
  const blocks = values.length / BLOCK;
  for (let b = 0; b < blocks; b++) {
    const base = b * 34;
    const o = b * BLOCK;

    let amax = 0;
    for (let i = 0; i < BLOCK; i++) amax = Math.max(amax, Math.abs(values[o + i]!));

    // Quantize against the scale as stored (after f16 rounding), so dequantization matches.
    const d = writeF16(out, base, amax / 127);
    const inverse = d === 0 ? 0 : 1 / d;
    for (let i = 0; i < BLOCK; i++) {
      const q = clamp(Math.round(values[o + i]! * inverse), -128, 127);
      out[base + 2 + i] = q & 0xff;
    }
  }
}

export function quantizeQ4_0(values: Float32Array, out: Uint8Array): void {
  const blocks = values.length / BLOCK;
  for (let b = 0; b < blocks; b++) {
    const base = b * 18;
    const o = b * BLOCK;

    // The element of largest magnitude maps to level 0, that is -8 * d, so d takes the opposite
    // sign of that element. The other side reaches only +7 * d.
    let extreme = 0;
    for (let i = 0; i < BLOCK; i++) {
      const v = values[o + i]!;
      if (Math.abs(v) > Math.abs(extreme)) extreme = v;
    }
    const d = writeF16(out, base, extreme / -8);
    const inverse = d === 0 ? 0 : 1 / d;

    for (let j = 0; j < 16; j++) {
      const low = clamp(Math.round(values[o + j]! * inverse) + 8, 0, 15);
      const high = clamp(Math.round(values[o + j + 16]! * inverse) + 8, 0, 15);
      out[base + 2 + j] = low | (high << 4);
    }
  }
}

export function quantizeQ4_1(values: Float32Array, out: Uint8Array): void {
  const blocks = values.length / BLOCK;
  for (let b = 0; b < blocks; b++) {
    const base = b * 20;
    const o = b * BLOCK;

    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < BLOCK; i++) {
      min = Math.min(min, values[o + i]!);
      max = Math.max(max, values[o + i]!);
    }
    const d = writeF16(out, base, (max - min) / 15);
    const m = writeF16(out, base + 2, min);
    const inverse = d === 0 ? 0 : 1 / d;

    for (let j = 0; j < 16; j++) {
      const low = clamp(Math.round((values[o + j]! - m) * inverse), 0, 15);
      const high = clamp(Math.round((values[o + j + 16]! - m) * inverse), 0, 15);
      out[base + 4 + j] = low | (high << 4);
    }
  }
}

export function clamp(value: number, low: number, high: number): number {
  if (value < low) return low;
  if (value > high) return high;
  return value;
}
