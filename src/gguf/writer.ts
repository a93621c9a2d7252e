// GGUF writer (little-endian, versions 2 and 3) for fixture generators and tests. The output is
// laid out the way llama.cpp reads it: header, metadata, tensor infos, padding to the alignment,
// then each tensor's data, padded to the alignment.

import { InvalidInputError } from "../errors.js";
import {
  BLOCK_LAYOUTS,
  GGMLType,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUFValueType,
  ggmlTypeName,
  type GGUFMetadataValue,
} from "./types.js";

/** One tensor to write. */
export interface GGUFWriteTensor {
  name: string;
  /** ggml order: `dims[0]` is the contiguous dimension. */
  dims: number[];
  type: GGMLType;
  /** Encoded tensor bytes, whose length must match `dims` and `type` exactly. */
  data: Uint8Array;
}

export interface GGUFWriteInput {
  /** 3 by default. Versions 2 and 3 share the little-endian layout. */
  version?: 2 | 3;
  /**
   * Tensor data alignment in bytes, a power of two. When set and the metadata has no
   * `general.alignment`, the writer adds that key as UINT32. Defaults to the metadata's
   * `general.alignment`, else 32.
   */
  alignment?: number;
  metadata: Iterable<[string, GGUFMetadataValue]> | Record<string, GGUFMetadataValue>;
  tensors: GGUFWriteTensor[];
}

/** The encoded header (padded to the alignment) and where each tensor's data goes after it. */
export interface EncodedGGUFHeader {
  header: Uint8Array;
  alignment: number;
  /** Offset of each tensor's data from the start of the data section, in `tensors` order. */
  tensorOffsets: number[];
  /** Size of the data section, including the padding after the last tensor. */
  dataSize: number;
}

const MAX_TENSOR_DIMS = 4;
const ALIGNMENT_KEY = "general.alignment";

const INTEGER_RANGES: Partial<Record<GGUFValueType, [number, number]>> = {
  [GGUFValueType.UINT8]: [0, 0xff],
  [GGUFValueType.INT8]: [-0x80, 0x7f],
  [GGUFValueType.UINT16]: [0, 0xffff],
  [GGUFValueType.INT16]: [-0x8000, 0x7fff],
  [GGUFValueType.UINT32]: [0, 0xffffffff],
  [GGUFValueType.INT32]: [-0x80000000, 0x7fffffff],
};

const UINT64_MAX = (1n << 64n) - 1n;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** A little-endian byte buffer that doubles its capacity as it fills. */
class ByteBuilder {
  private bytes = new Uint8Array(4096);
  private view = new DataView(this.bytes.buffer);
  length = 0;

  private reserve(count: number): number {
    const start = this.length;
    const needed = start + count;
    if (needed > this.bytes.length) {
      let capacity = this.bytes.length * 2;
      while (capacity < needed) capacity *= 2;
      const grown = new Uint8Array(capacity);
      grown.set(this.bytes.subarray(0, start));
      this.bytes = grown;
      this.view = new DataView(grown.buffer);
    }
    this.length = needed;
    return start;
  }

  // Each writer reserves first: `reserve` may replace `this.view`, so the view must be read after it.
  u8(value: number): void { const at = this.reserve(1); this.view.setUint8(at, value); }
  i8(value: number): void { const at = this.reserve(1); this.view.setInt8(at, value); }
  u16(value: number): void { const at = this.reserve(2); this.view.setUint16(at, value, true); }
  i16(value: number): void { const at = this.reserve(2); this.view.setInt16(at, value, true); }
  u32(value: number): void { const at = this.reserve(4); this.view.setUint32(at, value, true); }
  i32(value: number): void { const at = this.reserve(4); this.view.setInt32(at, value, true); }
  f32(value: number): void { const at = this.reserve(4); this.view.setFloat32(at, value, true); }
  f64(value: number): void { const at = this.reserve(8); this.view.setFloat64(at, value, true); }
  u64(value: bigint): void { const at = this.reserve(8); this.view.setBigUint64(at, value, true); }
  i64(value: bigint): void { const at = this.reserve(8); this.view.setBigInt64(at, value, true); }

  raw(data: Uint8Array): void {
    const start = this.reserve(data.length);
    this.bytes.set(data, start);
  }

  string(value: string): void {
    const encoded = new TextEncoder().encode(value);
    this.u64(BigInt(encoded.length));
    this.raw(encoded);
  }

  padTo(alignment: number): void {
    const padding = alignUp(this.length, alignment) - this.length;
    this.reserve(padding); // new capacity is zero-filled, and bytes past `length` were never written
  }

  finish(): Uint8Array {
    return this.bytes.slice(0, this.length);
  }
}

function alignUp(offset: number, alignment: number): number {
  return Math.ceil(offset / alignment) * alignment;
}

function fail(field: string, message: string): never {
  throw new InvalidInputError(`writeGGUF: ${field}: ${message}`);
}

function isPowerOfTwo(value: number): boolean {
  return Number.isInteger(value) && value > 0 && (value & (value - 1)) === 0 && value <= 0x80000000;
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "bigint") return `${value}n`;
  return String(value);
}

function toBigInt64(field: string, value: unknown, min: bigint, max: bigint, typeName: string): bigint {
  let big: bigint;
  if (typeof value === "bigint") big = value;
  else if (typeof value === "number" && Number.isSafeInteger(value)) big = BigInt(value);
  else fail(field, `${typeName} value ${describe(value)} must be a bigint or a safe integer`);

  if (big < min || big > max) fail(field, `${typeName} value ${big} is out of range ${min}..${max}`);
  return big;
}

/** Checks one scalar against its declared type and appends it. */
function writeScalar(out: ByteBuilder, field: string, type: GGUFValueType, value: unknown): void {
  const typeName = GGUFValueType[type] ?? `type ${type}`;
  const range = INTEGER_RANGES[type];
  if (range) {
    if (typeof value !== "number" || !Number.isInteger(value) || value < range[0] || value > range[1]) {
      fail(field, `${typeName} value ${describe(value)} must be an integer in ${range[0]}..${range[1]}`);
    }
  }

  switch (type) {
    case GGUFValueType.UINT8: return out.u8(value as number);
    case GGUFValueType.INT8: return out.i8(value as number);
    case GGUFValueType.UINT16: return out.u16(value as number);
    case GGUFValueType.INT16: return out.i16(value as number);
    case GGUFValueType.UINT32: return out.u32(value as number);
    case GGUFValueType.INT32: return out.i32(value as number);
    case GGUFValueType.UINT64: return out.u64(toBigInt64(field, value, 0n, UINT64_MAX, typeName));
    case GGUFValueType.INT64: return out.i64(toBigInt64(field, value, INT64_MIN, INT64_MAX, typeName));
    case GGUFValueType.FLOAT32:
    case GGUFValueType.FLOAT64:
      if (typeof value !== "number") fail(field, `${typeName} value ${describe(value)} must be a number`);
      return type === GGUFValueType.FLOAT32 ? out.f32(value) : out.f64(value);
    case GGUFValueType.BOOL:
      if (typeof value !== "boolean") fail(field, `BOOL value ${describe(value)} must be a boolean`);
      return out.u8(value ? 1 : 0);
    case GGUFValueType.STRING:
      if (typeof value !== "string") fail(field, `STRING value ${describe(value)} must be a string`);
      return out.string(value);
    default:
      fail(field, `value type ${describe(type)} is not a GGUF scalar type; use a GGUFValueType member other than ARRAY`);
  }
}

/** Appends an array body: element type, count, then the elements (nested arrays recursively). */
function writeArrayBody(out: ByteBuilder, field: string, elementType: GGUFValueType, values: unknown): void {
  if (!Array.isArray(values)) fail(field, `ARRAY value must be a JavaScript array, got ${typeof values}`);
  if (GGUFValueType[elementType] === undefined) {
    fail(field, `array element type ${describe(elementType)} is not a GGUFValueType`);
  }

  out.u32(elementType);
  out.u64(BigInt(values.length));

  for (let i = 0; i < values.length; i++) {
    const elementField = `${field}[${i}]`;
    if (elementType !== GGUFValueType.ARRAY) {
      writeScalar(out, elementField, elementType, values[i]);
      continue;
    }

    const nested = values[i] as GGUFMetadataValue | undefined;
    if (nested?.type !== GGUFValueType.ARRAY) {
      fail(elementField, "an array with element type ARRAY must contain ARRAY metadata values, e.g. meta.u32Array([...])");
    }
    writeArrayBody(out, elementField, nested.elementType, nested.value);
  }
}

function writeValue(out: ByteBuilder, field: string, entry: GGUFMetadataValue): void {
  if (entry === null || typeof entry !== "object") fail(field, `expected a GGUFMetadataValue object, got ${describe(entry)}`);

  out.u32(entry.type);
  if (entry.type === GGUFValueType.ARRAY) writeArrayBody(out, field, entry.elementType, entry.value);
  else writeScalar(out, field, entry.type, entry.value);
}

function metadataEntries(metadata: GGUFWriteInput["metadata"]): [string, GGUFMetadataValue][] {
  const isIterable = typeof (metadata as Iterable<unknown>)[Symbol.iterator] === "function";
  const entries = isIterable
    ? [...(metadata as Iterable<[string, GGUFMetadataValue]>)]
    : Object.entries(metadata as Record<string, GGUFMetadataValue>);

  const seen = new Set<string>();
  for (const [key] of entries) {
    if (typeof key !== "string" || key.length === 0) fail("metadata", `key ${describe(key)} must be a non-empty string`);
    if (seen.has(key)) fail(`metadata[${JSON.stringify(key)}]`, "duplicate key; each key may appear once");
    seen.add(key);
  }
  return entries;
}

/** Picks the alignment and adds `general.alignment` to the entries when the caller set one. */
function resolveAlignment(input: GGUFWriteInput, entries: [string, GGUFMetadataValue][]): number {
  const field = `metadata[${JSON.stringify(ALIGNMENT_KEY)}]`;
  const declared = entries.find(([key]) => key === ALIGNMENT_KEY)?.[1];
  if (declared && (declared.type !== GGUFValueType.UINT32 || !isPowerOfTwo(declared.value as number))) {
    fail(field, `must be a UINT32 power of two, got ${GGUFValueType[declared.type]} ${describe(declared.value)}`);
  }

  const declaredValue = declared?.value as number | undefined;
  if (input.alignment === undefined) return declaredValue ?? GGUF_DEFAULT_ALIGNMENT;

  if (!isPowerOfTwo(input.alignment)) fail("alignment", `${describe(input.alignment)} is not a power of two; use e.g. 32 or 64`);
  if (declaredValue !== undefined && declaredValue !== input.alignment) {
    fail("alignment", `${input.alignment} disagrees with ${field} = ${declaredValue}; set only one of them`);
  }
  if (declaredValue === undefined) entries.push([ALIGNMENT_KEY, { type: GGUFValueType.UINT32, value: input.alignment }]);
  return input.alignment;
}

/** Validates a tensor's name, dims and data length, and returns its byte length. */
function checkTensor(tensor: GGUFWriteTensor, index: number, names: Set<string>): number {
  const field = `tensor[${index}]`;
  if (typeof tensor.name !== "string" || tensor.name.length === 0) fail(`${field}.name`, `${describe(tensor.name)} must be a non-empty string`);
  if (names.has(tensor.name)) fail(`${field}.name`, `duplicate tensor name ${JSON.stringify(tensor.name)}`);
  names.add(tensor.name);

  const layout = BLOCK_LAYOUTS[tensor.type];
  if (!layout) fail(`${field}.type`, `tensor ${tensor.name}: ${ggmlTypeName(tensor.type)} has no block layout; use a type listed in BLOCK_LAYOUTS`);

  const dims = tensor.dims;
  if (!Array.isArray(dims) || dims.length < 1 || dims.length > MAX_TENSOR_DIMS) {
    fail(`${field}.dims`, `tensor ${tensor.name}: dims ${describe(dims)} must have 1 to ${MAX_TENSOR_DIMS} entries`);
  }

  let elementCount = 1;
  for (const dim of dims) {
    if (!Number.isSafeInteger(dim) || dim < 1) fail(`${field}.dims`, `tensor ${tensor.name}: dimension ${describe(dim)} must be a positive integer`);
    elementCount *= dim;
  }
  if (!Number.isSafeInteger(elementCount)) fail(`${field}.dims`, `tensor ${tensor.name}: element count of [${dims}] exceeds 2^53`);

  if (dims[0]! % layout.blockSize !== 0) {
    fail(`${field}.dims`, `tensor ${tensor.name}: dims[0] = ${dims[0]} is not a multiple of the ${ggmlTypeName(tensor.type)} block size ${layout.blockSize}`);
  }

  const byteLength = (elementCount / layout.blockSize) * layout.bytesPerBlock;
  if (!(tensor.data instanceof Uint8Array) || tensor.data.length !== byteLength) {
    const actual = tensor.data instanceof Uint8Array ? `${tensor.data.length} bytes` : `a ${typeof tensor.data}`;
    fail(`${field}.data`, `tensor ${tensor.name}: expected ${byteLength} bytes for ${ggmlTypeName(tensor.type)} [${dims}], got ${actual}`);
  }
  return byteLength;
}

/**
 * Encodes everything before the tensor data: header, metadata, tensor infos and the padding up to
 * the first tensor. Throws `InvalidInputError` naming the field when a value or tensor is invalid.
 */
export function encodeGGUFHeader(input: GGUFWriteInput): EncodedGGUFHeader {
  const version = input.version ?? 3;
  if (version !== 2 && version !== 3) fail("version", `${describe(version)} is not supported; use 2 or 3`);

  const entries = metadataEntries(input.metadata);
  const alignment = resolveAlignment(input, entries);

  // Tensor offsets: each tensor starts at a multiple of the alignment within the data section.
  const names = new Set<string>();
  const tensorOffsets: number[] = [];
  let dataSize = 0;
  input.tensors.forEach((tensor, index) => {
    const byteLength = checkTensor(tensor, index, names);
    tensorOffsets.push(dataSize);
    dataSize = alignUp(dataSize + byteLength, alignment);
  });

  const out = new ByteBuilder();
  out.u32(GGUF_MAGIC);
  out.u32(version);
  out.u64(BigInt(input.tensors.length));
  out.u64(BigInt(entries.length));

  for (const [key, value] of entries) {
    out.string(key);
    writeValue(out, `metadata[${JSON.stringify(key)}]`, value);
  }

  input.tensors.forEach((tensor, index) => {
    out.string(tensor.name);
    out.u32(tensor.dims.length);
    for (const dim of tensor.dims) out.u64(BigInt(dim));
    out.u32(tensor.type);
    out.u64(BigInt(tensorOffsets[index]!));
  });

  out.padTo(alignment);
  return { header: out.finish(), alignment, tensorOffsets, dataSize };
}

/** Builds a complete GGUF file in memory. For large files use `writeGGUFFile` from "./write-file.js". */
export function writeGGUF(input: GGUFWriteInput): Uint8Array {
  const { header, tensorOffsets, dataSize } = encodeGGUFHeader(input);

  const file = new Uint8Array(header.length + dataSize); // padding bytes stay zero
  file.set(header, 0);
  input.tensors.forEach((tensor, index) => file.set(tensor.data, header.length + tensorOffsets[index]!));
  return file;
}
