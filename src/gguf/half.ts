// IEEE 754 binary16 (f16) and bfloat16 (bf16) conversion to and from float32.
// Widening to float32 is exact, and narrowing to 16 bits rounds to nearest, ties to even.

const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);

let f16Table: Float32Array | undefined;

/** Converts the 16 bits of an f16 value to a float32 number, including subnormals, infinities and NaN. */
export function f16BitsToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;

  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exponent - 15) * (1 + mantissa / 1024);
}

/** Returns a 65,536-entry table mapping every f16 bit pattern to its float32 value (built once). */
export function f16LookupTable(): Float32Array {
  if (f16Table === undefined) {
    const table = new Float32Array(65536);
    for (let bits = 0; bits < 65536; bits++) table[bits] = f16BitsToF32(bits);
    f16Table = table;
  }
  return f16Table;
}

/** Converts a number to the nearest f16 bit pattern: overflow gives infinity, NaN stays a quiet NaN. */
export function f32ToF16Bits(value: number): number {
  scratchF32[0] = value;
  const bits = scratchU32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;

  if (exponent === 0xff) return mantissa === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mantissa >>> 13);

  // Exponent rebiased from float32 (bias 127) to f16 (bias 15).
  const halfExponent = exponent - 112;
  if (halfExponent >= 0x1f) return sign | 0x7c00;

  if (halfExponent <= 0) {
    // The result is an f16 subnormal, m * 2^-24, so m = significand * 2^(halfExponent - 14).
    // Magnitudes up to 2^-25 round to zero.
    if (halfExponent < -10) return sign;
    const significand = mantissa | 0x800000;
    const shift = 14 - halfExponent;
    return sign | roundShiftRightEven(significand, shift);
  }

  // A carry out of the mantissa moves into the exponent, and from the largest finite value into infinity.
  const truncated = sign | (halfExponent << 10) | (mantissa >>> 13);
  const remainder = mantissa & 0x1fff;
  if (remainder > 0x1000 || (remainder === 0x1000 && (truncated & 1) === 1)) return truncated + 1;
  return truncated;
}

/** Rounds `value` to float32 then to f16 precision and returns the result as a number. */
export function roundToF16(value: number): number {
  return f16LookupTable()[f32ToF16Bits(value)]!;
}

/** Converts the 16 bits of a bf16 value to a float32 number (the bits are the top half of a float32). */
export function bf16BitsToF32(bits: number): number {
  scratchU32[0] = (bits & 0xffff) << 16;
  return scratchF32[0]!;
}

/** Converts a number to the nearest bf16 bit pattern; NaN stays a quiet NaN. */
export function f32ToBF16Bits(value: number): number {
  scratchF32[0] = value;
  const bits = scratchU32[0]!;
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff;
  const rounded = bits + 0x7fff + ((bits >>> 16) & 1);
  return (rounded >>> 16) & 0xffff;
}

function roundShiftRightEven(value: number, shift: number): number {
  const truncated = value >>> shift;
  const remainder = value & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (remainder > half || (remainder === half && (truncated & 1) === 1)) return truncated + 1;
  return truncated;
}
