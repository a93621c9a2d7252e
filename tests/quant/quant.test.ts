import { describe, expect, it } from "vitest";
import { GGUFFormatError, GGUFUnsupportedError } from "../../src/errors.js";
import { f32ToF16Bits } from "../../src/gguf/half.js";
import { packScaleMin, unpackScaleMin } from "../../src/gguf/quant-k.js";
import { dequantize, quantize, tensorByteLength } from "../../src/gguf/quant.js";
import { GGMLType } from "../../src/gguf/types.js";

function setF16(bytes: Uint8Array, offset: number, value: number): void {
  const bits = f32ToF16Bits(value);
  bytes[offset] = bits & 0xff;
  bytes[offset + 1] = bits >>> 8;
}

/** Deterministic pseudo-random values in [-scale, scale) (mulberry32). */
function randomValues(count: number, seed: number, scale = 1): Float32Array {
  let state = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const unit = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = (unit * 2 - 1) * scale;
  }
  return out;
}

describe("tensorByteLength", () => {
  it("matches ggml block sizes", () => {
    expect(tensorByteLength(GGMLType.F32, 10)).toBe(40);
    expect(tensorByteLength(GGMLType.F16, 10)).toBe(20);
    expect(tensorByteLength(GGMLType.BF16, 10)).toBe(20);
    expect(tensorByteLength(GGMLType.Q8_0, 64)).toBe(68);
    expect(tensorByteLength(GGMLType.Q4_0, 64)).toBe(36);
    expect(tensorByteLength(GGMLType.Q4_1, 64)).toBe(40);
    expect(tensorByteLength(GGMLType.Q4_K, 512)).toBe(288);
    expect(tensorByteLength(GGMLType.Q5_K, 512)).toBe(352);
    expect(tensorByteLength(GGMLType.Q6_K, 512)).toBe(420);
  });

  it("rejects partial blocks", () => {
    expect(() => tensorByteLength(GGMLType.Q4_K, 100, { file: "m.gguf", tensor: "blk.0.ffn_up.weight" })).toThrow(GGUFFormatError);
    expect(() => tensorByteLength(GGMLType.Q8_0, 33)).toThrow(/multiple of 32/);
  });

  it("rejects unsupported types", () => {
    expect(() => tensorByteLength(GGMLType.Q2_K, 256)).toThrow(GGUFUnsupportedError);
    expect(() => dequantize(GGMLType.IQ4_NL, new Uint8Array(18), 32)).toThrow(GGUFUnsupportedError);
    expect(() => quantize(GGMLType.Q5_0, new Float32Array(32))).toThrow(/Q5_0 is not supported/);
  });

  it("rejects short data", () => {
    expect(() => dequantize(GGMLType.Q8_0, new Uint8Array(33), 32)).toThrow(/needs 34 bytes/);
  });
});

describe("dequantize hand-built blocks", () => {
  it("F32 at an unaligned offset", () => {
    const buffer = new Uint8Array(9);
    new DataView(buffer.buffer).setFloat32(1, -2.5, true);
    new DataView(buffer.buffer).setFloat32(5, 7, true);
    expect(Array.from(dequantize(GGMLType.F32, buffer.subarray(1), 2))).toEqual([-2.5, 7]);
  });

  it("F16 and BF16", () => {
    expect(Array.from(dequantize(GGMLType.F16, new Uint8Array([0x00, 0x3c, 0x00, 0xc0]), 2))).toEqual([1, -2]);
    expect(Array.from(dequantize(GGMLType.BF16, new Uint8Array([0x80, 0x3f, 0x40, 0xc0]), 2))).toEqual([1, -3]);
  });

  it("Q8_0", () => {
    const block = new Uint8Array(34);
    setF16(block, 0, 0.5);
    for (let i = 0; i < 32; i++) block[2 + i] = (i - 16) & 0xff;
    block[2 + 31] = 0x80; // int8 -128
    const out = dequantize(GGMLType.Q8_0, block, 32);
    expect(out[0]).toBe(-8);
    expect(out[16]).toBe(0);
    expect(out[20]).toBe(2);
    expect(out[31]).toBe(-64);
  });

  it("Q4_0 nibble order", () => {
    const block = new Uint8Array(18);
    setF16(block, 0, 2);
    block[2] = 0xf0; // element 0 = low nibble 0, element 16 = high nibble 15
    block[3] = 0x19; // element 1 = 9, element 17 = 1
    const out = dequantize(GGMLType.Q4_0, block, 32);
    expect(out[0]).toBe(-16);
    expect(out[16]).toBe(14);
    expect(out[1]).toBe(2);
    expect(out[17]).toBe(-14);
    expect(out[2]).toBe(-16);
  });

  it("Q4_1 scale and minimum", () => {
    const block = new Uint8Array(20);
    setF16(block, 0, 0.25);
    setF16(block, 2, -1);
    block[4] = 0x84; // element 0 = 4, element 16 = 8
    const out = dequantize(GGMLType.Q4_1, block, 32);
    expect(out[0]).toBe(0);
    expect(out[16]).toBe(1);
    expect(out[1]).toBe(-1);
  });

  it("K-quant 6-bit scale packing", () => {
    const scales = [1, 63, 17, 32, 45, 2, 63, 16];
    const mins = [0, 5, 63, 33, 60, 31, 1, 48];
    const packed = new Uint8Array(12);
    packScaleMin(packed, 0, scales, mins);
    for (let s = 0; s < 8; s++) expect(unpackScaleMin(packed, 0, s)).toEqual([scales[s], mins[s]]);
    // Sub-block 4: scale 45 = 0b101101 keeps its low nibble in byte 8 and its top bits in byte 0.
    expect(packed[8]! & 0xf).toBe(45 & 0xf);
    expect(packed[0]! >>> 6).toBe(45 >>> 4);
    expect(packed[4]! >>> 6).toBe(60 >>> 4);
  });

  it("Q4_K with a negative super-block scale", () => {
    const block = new Uint8Array(144);
    setF16(block, 0, -0.5); // d
    setF16(block, 2, 0.25); // dmin
    const scales = [1, 2, 3, 4, 5, 6, 7, 40];
    const mins = [0, 1, 2, 3, 4, 5, 6, 50];
    packScaleMin(block, 4, scales, mins);
    for (let l = 0; l < 128; l++) block[16 + l] = ((l % 16) << 4) | (l % 16); // level l % 16 in both nibbles
    const out = dequantize(GGMLType.Q4_K, block, 256);
    for (let s = 0; s < 8; s++) {
      for (const l of [0, 5, 31]) {
        const level = ((s >>> 1) * 32 + l) % 16;
        expect(out[32 * s + l]).toBeCloseTo(-0.5 * scales[s]! * level - 0.25 * mins[s]!, 6);
      }
    }
  });

  it("Q5_K fifth bit from qh", () => {
    const block = new Uint8Array(176);
    setF16(block, 0, 1);
    setF16(block, 2, 1);
    packScaleMin(block, 4, [1, 1, 1, 1, 1, 1, 1, 2], [0, 0, 0, 0, 0, 0, 0, 3]);
    block[16 + 3] = 0b10000001; // element 3 of sub-block 0 and element 3 of sub-block 7 get +16
    block[48 + 96 + 3] = 0x5a; // chunk 3, l = 3: sub-block 6 level 10, sub-block 7 level 5
    block[48 + 3] = 0x07; // chunk 0, l = 3: sub-block 0 level 7
    const out = dequantize(GGMLType.Q5_K, block, 256);
    expect(out[3]).toBe(23);
    expect(out[35]).toBe(0);
    expect(out[6 * 32 + 3]).toBe(10);
    expect(out[7 * 32 + 3]).toBe(2 * (5 + 16) - 3);
  });

  it("Q6_K layout with negative sub-block scales", () => {
    const block = new Uint8Array(210);
    setF16(block, 208, 0.5);
    for (let s = 0; s < 16; s++) block[192 + s] = (s % 2 === 0 ? s + 1 : -(s + 1)) & 0xff;
    // Half 1, l = 17: elements 145, 177, 209, 241 (sub-blocks 9, 11, 13, 15).
    block[64 + 17] = 0x21; // element 145 low = 1, element 209 low = 2
    block[64 + 17 + 32] = 0x43; // element 177 low = 3, element 241 low = 4
    block[128 + 32 + 17] = 0b11_10_01_00; // high bits: 145 -> 0, 177 -> 1, 209 -> 2, 241 -> 3
    const out = dequantize(GGMLType.Q6_K, block, 256);
    const scale = (s: number) => (s % 2 === 0 ? s + 1 : -(s + 1));
    expect(out[145]).toBe(0.5 * scale(9) * (1 - 32));
    expect(out[177]).toBe(0.5 * scale(11) * (3 + 16 - 32));
    expect(out[209]).toBe(0.5 * scale(13) * (2 + 32 - 32));
    expect(out[241]).toBe(0.5 * scale(15) * (4 + 48 - 32));
    expect(out[0]).toBe(0.5 * scale(0) * -32);
  });
});

describe("quantize then dequantize", () => {
  // Bound on max |error| relative to the block's max |value|, per type.
  const cases: [GGMLType, number][] = [
    [GGMLType.F32, 0],
    [GGMLType.F16, 1e-3],
    [GGMLType.BF16, 4e-3],
    [GGMLType.Q8_0, 0.01],
    [GGMLType.Q4_0, 0.13],
    [GGMLType.Q4_1, 0.07],
    [GGMLType.Q4_K, 0.12],
    [GGMLType.Q5_K, 0.06],
    [GGMLType.Q6_K, 0.05],
  ];

  for (const [type, bound] of cases) {
    it(`${GGMLType[type]} stays within ${bound} of the range`, () => {
      const values = randomValues(1024, 1234 + type, 3);
      // A block with an offset and one of all zeros cover the min and the zero-scale paths.
      for (let i = 256; i < 512; i++) values[i] = values[i]! * 0.1 + 2;
      values.fill(0, 512, 768);
      const bytes = quantize(type, values);
      expect(bytes.length).toBe(tensorByteLength(type, values.length));
      const restored = dequantize(type, bytes, values.length);

      let maxError = 0;
      for (let i = 0; i < values.length; i++) maxError = Math.max(maxError, Math.abs(restored[i]! - values[i]!));
      expect(maxError).toBeLessThanOrEqual(bound * 3 + 1e-7);
      for (let i = 512; i < 768; i++) expect(Math.abs(restored[i]!)).toBe(0);
    });
  }

  it("K-quants beat their 4-bit block peers on mean squared error", () => {
    const values = randomValues(4096, 99);
    const meanSquaredError = (type: GGMLType) => {
      const restored = dequantize(type, quantize(type, values), values.length);
      let sum = 0;
      for (let i = 0; i < values.length; i++) sum += (restored[i]! - values[i]!) ** 2;
      return sum / values.length;
    };
    const q4_0 = meanSquaredError(GGMLType.Q4_0);
    const q4_k = meanSquaredError(GGMLType.Q4_K);
    const q5_k = meanSquaredError(GGMLType.Q5_K);
    const q6_k = meanSquaredError(GGMLType.Q6_K);
    expect(q4_k).toBeLessThan(q4_0 * 1.2);
    expect(q5_k).toBeLessThan(q4_k / 2.5);
    expect(q6_k).toBeLessThan(q5_k / 2.5);
  });
});
