// Weight matrices that kernels read row by row in their stored GGUF type (shaders/weights.wgsl):
// the matrix description, the WEIGHT_* define of each type, the split into row chunks that fit
// one storage binding, and token-id validation.

import { GPUUnsupportedError, InvalidInputError } from "../../errors.js";
import { BLOCK_LAYOUTS, GGMLType, ggmlTypeName } from "../../gguf/types.js";
import type { ShaderDefine } from "../shaders.js";

/** A [rows, cols] matrix uploaded as its GGUF tensor bytes, row r at byte r * rowBytes(type, cols). */
export interface GPUWeightMatrix {
  buffer: GPUBuffer;
  type: GGMLType;
  rows: number;
  cols: number;
  /** Tensor name for error messages. */
  name?: string;
}

/** Binding limits of the device; `device.limits` satisfies this. */
export interface BindingLimits {
  maxStorageBufferBindingSize: number;
  minStorageBufferOffsetAlignment: number;
}

/** The WebGPU defaults, the least any device grants. */
export const DEFAULT_BINDING_LIMITS: BindingLimits = {
  maxStorageBufferBindingSize: 128 * 1024 * 1024,
  minStorageBufferOffsetAlignment: 256,
};

const WEIGHT_DEFINES: Partial<Record<GGMLType, ShaderDefine>> = {
  [GGMLType.F32]: "WEIGHT_F32",
  [GGMLType.F16]: "WEIGHT_F16",
  [GGMLType.Q8_0]: "WEIGHT_Q8_0",
  [GGMLType.Q4_0]: "WEIGHT_Q4_0",
  [GGMLType.Q4_K]: "WEIGHT_Q4_K",
  [GGMLType.Q6_K]: "WEIGHT_Q6_K",
};

/** Tensor types the row-gathering kernels decode. */
export const GATHER_WEIGHT_TYPES: readonly GGMLType[] = Object.keys(WEIGHT_DEFINES).map(Number);

/** Returns the WEIGHT_* define that selects the decoder of `matrix.type`. */
export function weightDefine(matrix: GPUWeightMatrix, kernel: string): ShaderDefine {
  const define = WEIGHT_DEFINES[matrix.type];
  if (!define) {
    const supported = GATHER_WEIGHT_TYPES.map(ggmlTypeName).join(", ");
    throw new GPUUnsupportedError(
      `${kernel}: tensor ${matrix.name ?? "(unnamed)"} has type ${ggmlTypeName(matrix.type)}, which the GPU kernel does not decode; ` +
        `supported: ${supported}. Requantize the model to one of these types.`,
    );
  }
  return define;
}

/** Returns the bytes of one row, checking that `cols` fills whole blocks of the type. */
export function rowBytes(matrix: GPUWeightMatrix, kernel: string): number {
  const layout = BLOCK_LAYOUTS[matrix.type];
  if (!layout) throw new GPUUnsupportedError(`${kernel}: tensor type ${ggmlTypeName(matrix.type)} has no block layout`);
  if (matrix.cols % layout.blockSize !== 0) {
    throw new InvalidInputError(
      `${kernel}: tensor ${matrix.name ?? "(unnamed)"} rows of ${matrix.cols} elements are not a whole number of ` +
        `${ggmlTypeName(matrix.type)} blocks of ${layout.blockSize}`,
    );
  }
  return (matrix.cols / layout.blockSize) * layout.bytesPerBlock;
}

/** Rows firstRow .. firstRow + rows - 1 of a matrix, bound as one storage-buffer range. */
export interface RowChunk {
  firstRow: number;
  rows: number;
  binding: GPUBufferBinding;
}

/**
 * Splits the matrix rows into chunks whose byte ranges fit one storage binding and start at a
 * multiple of the offset alignment. One chunk covers the whole matrix when it fits.
 */
export function rowChunks(matrix: GPUWeightMatrix, kernel: string, limits: BindingLimits = DEFAULT_BINDING_LIMITS): RowChunk[] {
  const bytesPerRow = rowBytes(matrix, kernel);
  const needed = matrix.rows * bytesPerRow;
  if (matrix.buffer.size < needed) {
    throw new InvalidInputError(
      `${kernel}: tensor ${matrix.name ?? "(unnamed)"} needs ${needed} bytes for ${matrix.rows} x ${matrix.cols} ` +
        `${ggmlTypeName(matrix.type)}, but its buffer has ${matrix.buffer.size}`,
    );
  }

  // Chunk starts must be multiples of the alignment, so rows per chunk is a multiple of `step`.
  const step = limits.minStorageBufferOffsetAlignment / gcd(bytesPerRow, limits.minStorageBufferOffsetAlignment);
  const maxRows = Math.floor(limits.maxStorageBufferBindingSize / bytesPerRow / step) * step;
  if (maxRows === 0) {
    throw new GPUUnsupportedError(
      `${kernel}: ${step} rows of ${bytesPerRow} bytes exceed maxStorageBufferBindingSize ${limits.maxStorageBufferBindingSize}`,
    );
  }

  const chunks: RowChunk[] = [];
  for (let firstRow = 0; firstRow < matrix.rows; firstRow += maxRows) {
    const rows = Math.min(maxRows, matrix.rows - firstRow);
    const offset = firstRow * bytesPerRow;
    const size = Math.min(Math.ceil((rows * bytesPerRow) / 4) * 4, matrix.buffer.size - offset);
    chunks.push({ firstRow, rows, binding: { buffer: matrix.buffer, offset, size } });
  }
  return chunks;
}

/** Throws `InvalidInputError` unless every id is an integer in [0, rows). */
export function validateTokenIds(ids: ArrayLike<number>, rows: number, kernel: string): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!Number.isInteger(id) || id < 0 || id >= rows) {
      throw new InvalidInputError(`${kernel}: token id ${id} at index ${i} is outside the vocabulary [0, ${rows}); check the tokenizer and model match`);
    }
  }
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}
