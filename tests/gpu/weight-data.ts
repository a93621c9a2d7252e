// Random weight matrices in every type the row-gathering kernels decode, for the embedding and
// class-logits tests: the stored bytes and their exact float32 values after dequantization.

import { dequantize, quantize } from "../../src/gguf/quant.js";
import { BLOCK_LAYOUTS, GGMLType } from "../../src/gguf/types.js";
import type { Random } from "./helpers.js";

export const GATHER_TEST_TYPES = [GGMLType.F32, GGMLType.F16, GGMLType.Q8_0, GGMLType.Q4_0, GGMLType.Q4_K, GGMLType.Q6_K] as const;

export interface TestMatrix {
  /** Stored bytes of the [rows, cols] matrix. */
  bytes: Uint8Array;
  /** [rows, cols] values the bytes decode to. */
  values: Float32Array;
  rowBytes: number;
}

/** Returns a random [rows, cols] matrix stored as `type`; cols must be a multiple of the type's block size. */
export function randomMatrix(random: Random, type: GGMLType, rows: number, cols: number, scale = 1): TestMatrix {
  const source = random.normals(rows * cols, scale);
  const bytes = quantize(type, source);
  const layout = BLOCK_LAYOUTS[type]!;
  return { bytes, values: dequantize(type, bytes, rows * cols), rowBytes: (cols / layout.blockSize) * layout.bytesPerBlock };
}

/** Returns the smallest row count per chunk that rowChunks can use: offsets stay 256-byte aligned. */
export function alignedRowStep(rowBytes: number): number {
  let a = rowBytes;
  let b = 256;
  while (b !== 0) [a, b] = [b, a % b];
  return 256 / a;
}
