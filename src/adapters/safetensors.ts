// The safetensors format: an 8-byte little-endian header length N, N bytes of JSON mapping each
// tensor name to { dtype, shape, data_offsets: [begin, end) }, then the data section. Offsets are
// relative to the data section. An optional "__metadata__" entry maps strings to strings.
// The parser treats the header as hostile: every length, offset and shape is bounded and checked.

import { AdapterFormatError } from "../errors.js";
import { bf16BitsToF32, f16BitsToF32, f32ToBF16Bits, f32ToF16Bits } from "../gguf/half.js";

export type SafetensorsDType = "F32" | "F16" | "BF16";

export interface SafetensorsTensor {
  dtype: SafetensorsDType;
  /** Row-major shape, outermost dimension first (PyTorch order). */
  shape: number[];
  /** The values converted to float32. */
  data: Float32Array;
}

const ELEMENT_BYTES: Record<SafetensorsDType, number> = { F32: 4, F16: 2, BF16: 2 };
/** Upper bound of the JSON header, as in the reference implementation (100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;
const MAX_DIMS = 8;
const METADATA_KEY = "__metadata__";

/** Parses every tensor of a safetensors file, converting F16 and BF16 to float32. Throws `AdapterFormatError`. */
export function parseSafetensors(bytes: Uint8Array, fileName: string): Map<string, SafetensorsTensor> {
  const fail = (field: string, message: string): never => {
    throw new AdapterFormatError(fileName, field, message);
  };

  if (bytes.length < 8) fail("header length", `the file has ${bytes.length} bytes, fewer than the 8-byte header length; the file is truncated`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(Math.min(MAX_HEADER_BYTES, bytes.length - 8))) {
    fail("header length", `${headerLength} bytes exceeds the ${bytes.length - 8} bytes after it or the ${MAX_HEADER_BYTES}-byte limit; the file is truncated or not safetensors`);
  }
  const dataStart = 8 + Number(headerLength);
  const dataLength = bytes.length - dataStart;

  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (cause) {
    return fail("header", `invalid UTF-8 JSON (${(cause as Error).message}); the file is corrupt or not safetensors`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) fail("header", "expected a JSON object of tensor entries");

  const tensors = new Map<string, SafetensorsTensor>();
  const ranges: [number, number, string][] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA_KEY) continue;
    const { dtype, shape, begin, end } = checkEntry(name, entry, dataLength, fail);
    ranges.push([begin, end, name]);

    const count = end - begin;
    const raw = bytes.subarray(dataStart + begin, dataStart + end);
    tensors.set(name, { dtype, shape, data: decode(dtype, raw, count / ELEMENT_BYTES[dtype]) });
  }

  // Tensors may not overlap: each byte of the data section belongs to at most one tensor.
  ranges.sort((x, y) => x[0] - y[0]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i]![0] < ranges[i - 1]![1]) fail(`"${ranges[i]![2]}".data_offsets`, `overlaps tensor "${ranges[i - 1]![2]}"; the header is corrupt`);
  }
  return tensors;
}

function checkEntry(name: string, entry: unknown, dataLength: number, fail: (field: string, message: string) => never) {
  const field = `"${name}"`;
  if (typeof entry !== "object" || entry === null) fail(field, "expected { dtype, shape, data_offsets }");
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;

  if (dtype !== "F32" && dtype !== "F16" && dtype !== "BF16") fail(`${field}.dtype`, `${JSON.stringify(dtype)} is not supported; export the adapter as F32, F16 or BF16`);
  if (!Array.isArray(shape) || shape.length > MAX_DIMS || !shape.every((size) => Number.isSafeInteger(size) && size >= 0)) {
    fail(`${field}.shape`, `${JSON.stringify(shape)} is invalid; expected up to ${MAX_DIMS} non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((offset) => Number.isSafeInteger(offset) && offset >= 0)) {
    fail(`${field}.data_offsets`, `${JSON.stringify(offsets)} is invalid; expected [begin, end] as non-negative integers`);
  }

  const [begin, end] = offsets as [number, number];
  if (begin > end || end > dataLength) fail(`${field}.data_offsets`, `[${begin}, ${end}] is outside the ${dataLength}-byte data section; the file is truncated or corrupt`);

  const elements = (shape as number[]).reduce((product, size) => product * size, 1);
  const expectedBytes = elements * ELEMENT_BYTES[dtype as SafetensorsDType];
  if (!Number.isSafeInteger(expectedBytes) || expectedBytes !== end - begin) {
    fail(`${field}.data_offsets`, `span ${end - begin} bytes but shape [${(shape as number[]).join(", ")}] of ${dtype as string} needs ${expectedBytes}`);
  }
  return { dtype: dtype as SafetensorsDType, shape: shape as number[], begin, end };
}

function decode(dtype: SafetensorsDType, raw: Uint8Array, count: number): Float32Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const output = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    if (dtype === "F32") output[i] = view.getFloat32(i * 4, true);
    else if (dtype === "F16") output[i] = f16BitsToF32(view.getUint16(i * 2, true));
    else output[i] = bf16BitsToF32(view.getUint16(i * 2, true));
  }
  return output;
}

/** One tensor to write; `data` is float32 and is rounded to `dtype`. */
export interface SafetensorsWriteTensor {
  name: string;
  dtype: SafetensorsDType;
  shape: number[];
  data: Float32Array;
}

/** Encodes tensors as a safetensors file, in the given order, with optional string metadata. */
export function writeSafetensors(tensors: SafetensorsWriteTensor[], metadata?: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) header[METADATA_KEY] = metadata;
  let offset = 0;
  for (const tensor of tensors) {
    const size = tensor.data.length * ELEMENT_BYTES[tensor.dtype];
    header[tensor.name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }

  // The JSON is padded with spaces to a multiple of 8 bytes, so the data section stays aligned.
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) json = new TextEncoder().encode(JSON.stringify(header) + " ".repeat(padded - json.length));

  const output = new Uint8Array(8 + json.length + offset);
  const view = new DataView(output.buffer);
  view.setBigUint64(0, BigInt(json.length), true);
  output.set(json, 8);

  let position = 8 + json.length;
  for (const tensor of tensors) {
    for (let i = 0; i < tensor.data.length; i++) {
      const value = tensor.data[i]!;
      if (tensor.dtype === "F32") view.setFloat32(position + i * 4, value, true);
      else view.setUint16(position + i * 2, tensor.dtype === "F16" ? f32ToF16Bits(value) : f32ToBF16Bits(value), true);
    }
    position += tensor.data.length * ELEMENT_BYTES[tensor.dtype];
  }
  return output;
}
