import { describe, expect, it } from "vitest";
import { bf16BitsToF32, f16BitsToF32, f32ToBF16Bits, f32ToF16Bits, roundToF16 } from "../../src/gguf/half.js";

describe("f16", () => {
  it("decodes normal values", () => {
    expect(f16BitsToF32(0x3c00)).toBe(1);
    expect(f16BitsToF32(0xc000)).toBe(-2);
    expect(f16BitsToF32(0x3555)).toBeCloseTo(0.33325195, 8);
    expect(f16BitsToF32(0x7bff)).toBe(65504);
  });

  it("decodes subnormals and signed zero", () => {
    expect(f16BitsToF32(0x0001)).toBe(2 ** -24);
    expect(f16BitsToF32(0x03ff)).toBe(1023 * 2 ** -24);
    expect(f16BitsToF32(0x0400)).toBe(2 ** -14);
    expect(Object.is(f16BitsToF32(0x8000), -0)).toBe(true);
  });

  it("decodes infinities and NaN", () => {
    expect(f16BitsToF32(0x7c00)).toBe(Infinity);
    expect(f16BitsToF32(0xfc00)).toBe(-Infinity);
    expect(f16BitsToF32(0x7e00)).toBeNaN();
    expect(f16BitsToF32(0x7c01)).toBeNaN();
  });

  it("encodes specials", () => {
    expect(f32ToF16Bits(Infinity)).toBe(0x7c00);
    expect(f32ToF16Bits(-Infinity)).toBe(0xfc00);
    expect(f32ToF16Bits(1e6)).toBe(0x7c00);
    expect(f32ToF16Bits(-0)).toBe(0x8000);
    expect(f16BitsToF32(f32ToF16Bits(NaN))).toBeNaN();
  });

  it("encodes subnormals with rounding", () => {
    expect(f32ToF16Bits(2 ** -24)).toBe(0x0001);
    expect(f32ToF16Bits(3 * 2 ** -24)).toBe(0x0003);
    // Exactly half the smallest subnormal is a tie and rounds to even (zero); above it rounds up.
    expect(f32ToF16Bits(2 ** -25)).toBe(0x0000);
    expect(f32ToF16Bits(2 ** -25 * 1.01)).toBe(0x0001);
    expect(f32ToF16Bits(1.5 * 2 ** -24)).toBe(0x0002);
    expect(f32ToF16Bits(2 ** -30)).toBe(0x0000);
    // The largest subnormal plus a bit rounds up into the smallest normal.
    expect(f32ToF16Bits(1023.75 * 2 ** -24)).toBe(0x0400);
  });

  it("rounds ties to even and overflows to infinity", () => {
    expect(f32ToF16Bits(1 + 2 ** -11)).toBe(0x3c00);
    expect(f32ToF16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(f32ToF16Bits(65519)).toBe(0x7bff);
    expect(f32ToF16Bits(65520)).toBe(0x7c00);
  });

  it("round-trips every finite bit pattern", () => {
    let mismatches = 0;
    for (let bits = 0; bits < 65536; bits++) {
      const value = f16BitsToF32(bits);
      if (Number.isNaN(value)) continue;
      if (f32ToF16Bits(value) !== bits) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  it("rounds to the nearest representable value", () => {
    for (const value of [0.1, -3.14159, 1234.5678, 6e-5, -7.7e-6]) {
      const rounded = roundToF16(value);
      const ulp = Math.abs(value) < 2 ** -14 ? 2 ** -24 : 2 ** (Math.floor(Math.log2(Math.abs(value))) - 10);
      expect(Math.abs(rounded - value)).toBeLessThanOrEqual(ulp / 2);
    }
  });
});

describe("bf16", () => {
  it("decodes the top half of a float32", () => {
    expect(bf16BitsToF32(0x3f80)).toBe(1);
    expect(bf16BitsToF32(0xc040)).toBe(-3);
    expect(bf16BitsToF32(0x7f80)).toBe(Infinity);
    expect(bf16BitsToF32(0xff80)).toBe(-Infinity);
    expect(bf16BitsToF32(0x7fc0)).toBeNaN();
    expect(bf16BitsToF32(0x0001)).toBe(2 ** -133);
  });

  it("encodes with ties to even and keeps NaN", () => {
    expect(f32ToBF16Bits(1)).toBe(0x3f80);
    // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties go to the even mantissa (1).
    expect(f32ToBF16Bits(1 + 2 ** -8)).toBe(0x3f80);
    expect(f32ToBF16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(f32ToBF16Bits(1 + 2 ** -8 + 2 ** -12)).toBe(0x3f81);
    expect(f32ToBF16Bits(Infinity)).toBe(0x7f80);
    expect(Number.isNaN(bf16BitsToF32(f32ToBF16Bits(NaN)))).toBe(true);
    expect(f32ToBF16Bits(3.4e38)).toBe(0x7f80);
  });
});
