// Weight rows in the u32-aligned layouts the matmul shaders decode (shaders/quant_*.wgsl).
//
// A GGUF weight matrix W[N, K] stores row n as K contiguous elements (ggml dims [K, N]). The
// shaders read whole u32 words, so each row must start on a word boundary and each block must
// keep the word alignment of its fields:
//   F32    unchanged, rows zero-padded to a multiple of 8 elements
//   F16    unchanged, rows zero-padded to a multiple of 8 elements
//   Q8_0   34-byte blocks become 36 bytes: d (f16), 2 zero bytes, then the 32 int8 quants
//   Q4_0   18-byte blocks become 20 bytes: d (f16), 2 zero bytes, then the 16 quant bytes
//   Q4_K   unchanged, 144-byte blocks are already word-aligned
//   Q6_K   210-byte blocks become 212 bytes: the block as stored, then 2 zero bytes
// Quantized values are copied bit for bit, so a repacked row decodes to the same floats as the
// GGUF row.

import { GPUUnsupportedError, InvalidInputError } from "../errors.js";
import { BLOCK_LAYOUTS, GGMLType, ggmlTypeName } from "../gguf/types.js";

/** Weight types the matmul kernels decode. */
export const MATMUL_WEIGHT_TYPES = [
  GGMLType.F32,
  GGMLType.F16,
  GGMLType.Q8_0,
  GGMLType.Q4_0,
  GGMLType.Q4_K,
  GGMLType.Q6_K,
] as const;

export type MatmulWeightType = (typeof MATMUL_WEIGHT_TYPES)[number];

/** Copy rule of one block from the GGUF layout into the repacked layout. */
interface RepackRule {
  /** Elements per block (1 for F32 and F16, which are repacked per row). */
  blockSize: number;
  /** Bytes per block in GGUF. */
  storedBytes: number;
  /** Bytes per block after repacking, a multiple of 4 for the quantized types. */
  packedBytes: number;
  /** Offset in the stored block where the zero bytes go: bytes before it keep their offset, bytes after it move by the gap. */
  insertAt: number;
}

const RULES: Record<MatmulWeightType, RepackRule> = {
  [GGMLType.F32]: { blockSize: 1, storedBytes: 4, packedBytes: 4, insertAt: 4 },
  [GGMLType.F16]: { blockSize: 1, storedBytes: 2, packedBytes: 2, insertAt: 2 },
  [GGMLType.Q8_0]: { blockSize: 32, storedBytes: 34, packedBytes: 36, insertAt: 2 },
  [GGMLType.Q4_0]: { blockSize: 32, storedBytes: 18, packedBytes: 20, insertAt: 2 },
  [GGMLType.Q4_K]: { blockSize: 256, storedBytes: 144, packedBytes: 144, insertAt: 144 },
  [GGMLType.Q6_K]: { blockSize: 256, storedBytes: 210, packedBytes: 212, insertAt: 210 },
};

// F32 and F16 rows are padded to whole groups of 8, the unit the shaders decode.
const GROUP_SIZE = 8;

/** Shape of a weight matrix in the repacked layout. */
export interface RepackedLayout {
  type: MatmulWeightType;
  /** Reduction length: elements per row. */
  k: number;
  /** u32 words per repacked row. */
  rowWords: number;
  /** Groups of 8 elements per row, ceil(k / 8). The last one is zero-padded when k % 8 != 0. */
  groupsPerRow: number;
  /** Bytes per row as stored in GGUF. */
  storedRowBytes: number;
}

/** Returns true when the matmul kernels decode `type`. */
export function isMatmulWeightType(type: GGMLType): type is MatmulWeightType {
  return (MATMUL_WEIGHT_TYPES as readonly GGMLType[]).includes(type);
}

/**
 * Returns the repacked layout of rows of `k` elements of `type`. Throws `GPUUnsupportedError` for
 * a type the kernels do not decode and `InvalidInputError` when `k` is not a positive multiple
 * of the type's block size.
 */
export function repackedLayout(type: GGMLType, k: number): RepackedLayout {
  if (!isMatmulWeightType(type)) {
    const supported = MATMUL_WEIGHT_TYPES.map(ggmlTypeName).join(", ");
    throw new GPUUnsupportedError(
      `matmul weights of type ${ggmlTypeName(type)} are not supported by the GPU kernels; use one of ${supported}`,
    );
  }

  const rule = RULES[type];
  if (!Number.isSafeInteger(k) || k <= 0 || k % rule.blockSize !== 0) {
    throw new InvalidInputError(
      `matmul: K = ${k} is invalid for ${ggmlTypeName(type)} weights; K must be a positive multiple of the block size ${rule.blockSize}`,
    );
  }

  const layout = BLOCK_LAYOUTS[type]!;
  const storedRowBytes = (k / layout.blockSize) * layout.bytesPerBlock;
  const groupsPerRow = Math.ceil(k / GROUP_SIZE);
  const rowWords = rule.blockSize === 1 ? (groupsPerRow * GROUP_SIZE * rule.packedBytes) / 4 : ((k / rule.blockSize) * rule.packedBytes) / 4;
  return { type, k, rowWords, groupsPerRow, storedRowBytes };
}

/**
 * Repacks rows [rowStart, rowStart + rowCount) of a weight matrix from its GGUF bytes, which contain
 * whole rows of `layout.storedRowBytes` from row 0. Returns rowCount * layout.rowWords words.
 */
export function repackRows(layout: RepackedLayout, bytes: Uint8Array, rowStart: number, rowCount: number): Uint32Array {
  const end = (rowStart + rowCount) * layout.storedRowBytes;
  if (!Number.isSafeInteger(rowStart) || !Number.isSafeInteger(rowCount) || rowStart < 0 || rowCount < 0 || end > bytes.length) {
    throw new InvalidInputError(
      `matmul: rows [${rowStart}, ${rowStart + rowCount}) of ${ggmlTypeName(layout.type)} weights with K = ${layout.k} ` +
        `need ${end} bytes but ${bytes.length} were given; check N, K and the tensor type`,
    );
  }

  const rule = RULES[layout.type];
  const output = new Uint8Array(rowCount * layout.rowWords * 4);
  const packedRowBytes = layout.rowWords * 4;

  for (let row = 0; row < rowCount; row++) {
    const source = (rowStart + row) * layout.storedRowBytes;
    const target = row * packedRowBytes;

    if (rule.blockSize === 1) {
      // F32 and F16 rows are copied as stored, and the padding after them stays zero.
      output.set(bytes.subarray(source, source + layout.storedRowBytes), target);
      continue;
    }

    const blocks = layout.k / rule.blockSize;
    for (let block = 0; block < blocks; block++) {
      const from = source + block * rule.storedBytes;
      const to = target + block * rule.packedBytes;
      const gap = rule.packedBytes - rule.storedBytes;
      output.set(bytes.subarray(from, from + rule.insertAt), to);
      output.set(bytes.subarray(from + rule.insertAt, from + rule.storedBytes), to + rule.insertAt + gap);
    }
  }

  return new Uint32Array(output.buffer);
}
