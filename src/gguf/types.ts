// GGUF and ggml type definitions shared by the reader, the writer and the dequantizers.
// Numbering follows ggml's `enum ggml_type` and `enum gguf_type` (ggml/include/ggml.h, gguf.h).

/** Tensor element types. Only the types listed in `SUPPORTED_TENSOR_TYPES` can be dequantized. */
export enum GGMLType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
  Q4_1 = 3,
  Q5_0 = 6,
  Q5_1 = 7,
  Q8_0 = 8,
  Q8_1 = 9,
  Q2_K = 10,
  Q3_K = 11,
  Q4_K = 12,
  Q5_K = 13,
  Q6_K = 14,
  Q8_K = 15,
  IQ2_XXS = 16,
  IQ2_XS = 17,
  IQ3_XXS = 18,
  IQ1_S = 19,
  IQ4_NL = 20,
  IQ3_S = 21,
  IQ2_S = 22,
  IQ4_XS = 23,
  I8 = 24,
  I16 = 25,
  I32 = 26,
  I64 = 27,
  F64 = 28,
  IQ1_M = 29,
  BF16 = 30,
  TQ1_0 = 34,
  TQ2_0 = 35,
  MXFP4 = 39,
}

/** Metadata value types. */
export enum GGUFValueType {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
}

/** A metadata scalar as a JavaScript value; 64-bit integers are `bigint`. */
export type GGUFScalar = number | bigint | boolean | string;

/**
 * One metadata entry. Scalars keep their declared type so the writer can round-trip a file.
 * Arrays of numbers are plain `number[]` (or `bigint[]` for 64-bit elements); nested arrays are
 * allowed by the format and represented recursively.
 */
export type GGUFMetadataValue =
  | { type: Exclude<GGUFValueType, GGUFValueType.ARRAY>; value: GGUFScalar }
  | { type: GGUFValueType.ARRAY; elementType: GGUFValueType; value: GGUFArrayValue };

export type GGUFArrayValue = number[] | bigint[] | boolean[] | string[] | GGUFMetadataValue[];

/** A tensor's header entry. */
export interface GGUFTensorInfo {
  name: string;
  /** ggml order: `dims[0]` is the contiguous (row) dimension, so a [rows, cols] matrix is [cols, rows]. */
  dims: number[];
  type: GGMLType;
  /** Byte offset from the start of the tensor data section (a multiple of the alignment). */
  offset: number;
  /** Element count, the product of `dims`. */
  elementCount: number;
  /** Bytes the tensor occupies, from its type's block size. */
  byteLength: number;
}

/** Tensor types this library reads; the others are rejected with `GGUFUnsupportedError`. */
export const SUPPORTED_TENSOR_TYPES: readonly GGMLType[] = [
  GGMLType.F32,
  GGMLType.F16,
  GGMLType.BF16,
  GGMLType.Q8_0,
  GGMLType.Q4_0,
  GGMLType.Q4_1,
  GGMLType.Q4_K,
  GGMLType.Q5_K,
  GGMLType.Q6_K,
];

/** Elements per block and bytes per block of a tensor type (ggml's `type_traits`). */
export interface BlockLayout {
  blockSize: number;
  bytesPerBlock: number;
}

export const BLOCK_LAYOUTS: Partial<Record<GGMLType, BlockLayout>> = {
  [GGMLType.F32]: { blockSize: 1, bytesPerBlock: 4 },
  [GGMLType.F16]: { blockSize: 1, bytesPerBlock: 2 },
  [GGMLType.BF16]: { blockSize: 1, bytesPerBlock: 2 },
  [GGMLType.Q8_0]: { blockSize: 32, bytesPerBlock: 34 },
  [GGMLType.Q4_0]: { blockSize: 32, bytesPerBlock: 18 },
  [GGMLType.Q4_1]: { blockSize: 32, bytesPerBlock: 20 },
  [GGMLType.Q5_0]: { blockSize: 32, bytesPerBlock: 22 },
  [GGMLType.Q5_1]: { blockSize: 32, bytesPerBlock: 24 },
  [GGMLType.Q8_1]: { blockSize: 32, bytesPerBlock: 36 },
  [GGMLType.Q2_K]: { blockSize: 256, bytesPerBlock: 84 },
  [GGMLType.Q3_K]: { blockSize: 256, bytesPerBlock: 110 },
  [GGMLType.Q4_K]: { blockSize: 256, bytesPerBlock: 144 },
  [GGMLType.Q5_K]: { blockSize: 256, bytesPerBlock: 176 },
  [GGMLType.Q6_K]: { blockSize: 256, bytesPerBlock: 210 },
  [GGMLType.Q8_K]: { blockSize: 256, bytesPerBlock: 292 },
  [GGMLType.I8]: { blockSize: 1, bytesPerBlock: 1 },
  [GGMLType.I16]: { blockSize: 1, bytesPerBlock: 2 },
  [GGMLType.I32]: { blockSize: 1, bytesPerBlock: 4 },
  [GGMLType.I64]: { blockSize: 1, bytesPerBlock: 8 },
  [GGMLType.F64]: { blockSize: 1, bytesPerBlock: 8 },
};

/** Returns the type's name as ggml prints it ("Q4_K"), or "type N" for a number ggml does not define here. */
export function ggmlTypeName(type: number): string {
  return GGMLType[type] ?? `type ${type}`;
}

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
export const GGUF_DEFAULT_ALIGNMENT = 32;
