// Conversion between stored tensor bytes and float32 for the tensor types in SUPPORTED_TENSOR_TYPES.
// Block layouts follow ggml's block structs and are documented in quant-legacy.ts and quant-k.ts.

import { GGUFFormatError, GGUFUnsupportedError } from "../errors.js";
import { bf16BitsToF32, f16LookupTable, f32ToBF16Bits, f32ToF16Bits } from "./half.js";
import { dequantizeQ4_0, dequantizeQ4_1, dequantizeQ8_0, quantizeQ4_0, quantizeQ4_1, quantizeQ8_0 } from "./quant-legacy.js";
import { dequantizeQ4_K, dequantizeQ5_K, dequantizeQ6_K, quantizeQ4_K, quantizeQ5_K, quantizeQ6_K } from "./quant-k.js";
import { BLOCK_LAYOUTS, GGMLType, SUPPORTED_TENSOR_TYPES, ggmlTypeName, type BlockLayout } from "./types.js";

/** Origin of the bytes, named in error messages. */
export interface QuantSource {
  /** File or URL the tensor was read from; "<memory>" when omitted. */
  file?: string;
  /** Tensor name, when the bytes are one tensor's data. */
  tensor?: string;
}

/** Returns the bytes `elementCount` elements of `type` occupy; throws unless the count fills whole blocks. */
export function tensorByteLength(type: GGMLType, elementCount: number, source: QuantSource = {}): number {
  const layout = requireLayout(type, source);
  if (!Number.isSafeInteger(elementCount) || elementCount < 0 || elementCount % layout.blockSize !== 0) {
    throw new GGUFFormatError(
      source.file ?? "<memory>",
      fieldName(source, "element count"),
      `${elementCount} elements is not a whole number of ${ggmlTypeName(type)} blocks of ${layout.blockSize}; the tensor's row length must be a multiple of ${layout.blockSize}`,
      elementCount,
    );
  }
  return (elementCount / layout.blockSize) * layout.bytesPerBlock;
}

/** Decodes `elementCount` elements of `type` from the start of `bytes` (which may be longer) into float32. */
export function dequantize(type: GGMLType, bytes: Uint8Array, elementCount: number, source: QuantSource = {}): Float32Array {
  const byteLength = tensorByteLength(type, elementCount, source);
  if (bytes.length < byteLength) {
    throw new GGUFFormatError(
      source.file ?? "<memory>",
      fieldName(source, "data"),
      `${ggmlTypeName(type)} data for ${elementCount} elements needs ${byteLength} bytes but only ${bytes.length} were given; the file is truncated or the tensor header is wrong`,
      bytes.length,
    );
  }

  const out = new Float32Array(elementCount);
  switch (type) {
    case GGMLType.F32:
      decodeF32(bytes, out);
      break;
    case GGMLType.F16: {
      const table = f16LookupTable();
      for (let i = 0; i < elementCount; i++) out[i] = table[bytes[2 * i]! | (bytes[2 * i + 1]! << 8)]!;
      break;
    }
    case GGMLType.BF16:
      for (let i = 0; i < elementCount; i++) out[i] = bf16BitsToF32(bytes[2 * i]! | (bytes[2 * i + 1]! << 8));
      break;
    case GGMLType.Q8_0:
      dequantizeQ8_0(bytes, out);
      break;
    case GGMLType.Q4_0:
      dequantizeQ4_0(bytes, out);
      break;
    case GGMLType.Q4_1:
      dequantizeQ4_1(bytes, out);
      break;
    case GGMLType.Q4_K:
      dequantizeQ4_K(bytes, out);
      break;
    case GGMLType.Q5_K:
      dequantizeQ5_K(bytes, out);
      break;
    case GGMLType.Q6_K:
      dequantizeQ6_K(bytes, out);
      break;
    default:
      throw unsupported(type, source);
  }
  return out;
}

/**
 * Encodes `values` as `type`. The result dequantizes to an approximation of `values`; it is valid
 * ggml data but not bit-identical to what ggml's own quantizer writes.
 */
export function quantize(type: GGMLType, values: Float32Array, source: QuantSource = {}): Uint8Array {
  const out = new Uint8Array(tensorByteLength(type, values.length, source));
  switch (type) {
    case GGMLType.F32:
    {
      const view = new DataView(out.buffer);
      for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i]!, true);
      break;
    }
    case GGMLType.F16:
      for (let i = 0; i < values.length; i++) writeU16(out, 2 * i, f32ToF16Bits(values[i]!));
      break;
    case GGMLType.BF16:
      for (let i = 0; i < values.length; i++) writeU16(out, 2 * i, f32ToBF16Bits(values[i]!));
      break;
    case GGMLType.Q8_0:
      quantizeQ8_0(values, out);
      break;
    case GGMLType.Q4_0:
      quantizeQ4_0(values, out);
      break;
    case GGMLType.Q4_1:
      quantizeQ4_1(values, out);
      break;
    case GGMLType.Q4_K:
      quantizeQ4_K(values, out);
      break;
    case GGMLType.Q5_K:
      quantizeQ5_K(values, out);
      break;
    case GGMLType.Q6_K:
      quantizeQ6_K(values, out);
      break;
    default:
      throw unsupported(type, source);
  }
  return out;
}

function decodeF32(bytes: Uint8Array, out: Float32Array): void {
  // A Float32Array view reads host byte order, which is little-endian on every platform this runs on.
  if (bytes.byteOffset % 4 === 0) {
    out.set(new Float32Array(bytes.buffer, bytes.byteOffset, out.length));
    return;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, out.length * 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
}

function writeU16(bytes: Uint8Array, offset: number, value: number): void {
  bytes[offset] = value & 0xff;
  bytes[offset + 1] = value >>> 8;
}

function requireLayout(type: GGMLType, source: QuantSource): BlockLayout {
  const layout = BLOCK_LAYOUTS[type];
  if (layout === undefined || !SUPPORTED_TENSOR_TYPES.includes(type)) throw unsupported(type, source);
  return layout;
}

function unsupported(type: GGMLType, source: QuantSource): GGUFUnsupportedError {
  const supported = SUPPORTED_TENSOR_TYPES.map(ggmlTypeName).join(", ");
  return new GGUFUnsupportedError(
    source.file ?? "<memory>",
    fieldName(source, "type"),
    `tensor type ${ggmlTypeName(type)} is not supported; re-quantize the model to one of ${supported}`,
    type,
  );
}

function fieldName(source: QuantSource, part: string): string {
  return source.tensor === undefined ? part : `tensor "${source.tensor}" ${part}`;
}
