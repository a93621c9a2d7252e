import { describe, expect, it } from "vitest";
import { GPUUnsupportedError, InvalidInputError } from "../../src/errors.js";
import { quantize } from "../../src/gguf/quant.js";
import { GGMLType, ggmlTypeName } from "../../src/gguf/types.js";
import { repackedLayout, repackRows, type MatmulWeightType } from "../../src/gpu/repack.js";
import { createRandom } from "./helpers.js";

// Per type: K, expected u32 words per repacked row, and where zero bytes are inserted in each
// block (offset inside the stored block, count) or appended to each row.
const CASES: { type: MatmulWeightType; k: number; rowWords: number; blockSize: number; storedBytes: number; gapAt: number; gap: number }[] = [
  { type: GGMLType.F32, k: 13, rowWords: 16, blockSize: 13, storedBytes: 52, gapAt: 52, gap: 12 },
  { type: GGMLType.F16, k: 13, rowWords: 8, blockSize: 13, storedBytes: 26, gapAt: 26, gap: 6 },
  { type: GGMLType.Q8_0, k: 64, rowWords: 18, blockSize: 32, storedBytes: 34, gapAt: 2, gap: 2 },
  { type: GGMLType.Q4_0, k: 64, rowWords: 10, blockSize: 32, storedBytes: 18, gapAt: 2, gap: 2 },
  { type: GGMLType.Q4_K, k: 512, rowWords: 72, blockSize: 256, storedBytes: 144, gapAt: 144, gap: 0 },
  { type: GGMLType.Q6_K, k: 512, rowWords: 106, blockSize: 256, storedBytes: 210, gapAt: 210, gap: 2 },
];

describe("matmul weight repacking", () => {
  for (const c of CASES) {
    it(`repacks ${ggmlTypeName(c.type)} rows`, () => {
      const rows = 3;
      const bytes = quantize(c.type, createRandom(c.type).normals(rows * c.k));
      const layout = repackedLayout(c.type, c.k);
      expect(layout.rowWords).toBe(c.rowWords);
      expect(layout.groupsPerRow).toBe(Math.ceil(c.k / 8));

      // Rows 1 and 2 only, to check that rowStart selects the right source bytes.
      const packed = new Uint8Array(repackRows(layout, bytes, 1, 2).buffer);
      expect(packed.length).toBe(2 * c.rowWords * 4);

      const blocksPerRow = c.k / c.blockSize;
      for (let row = 0; row < 2; row++) {
        for (let block = 0; block < blocksPerRow; block++) {
          const from = (row + 1) * layout.storedRowBytes + block * c.storedBytes;
          const to = row * c.rowWords * 4 + block * (c.storedBytes + c.gap);
          const stored = bytes.subarray(from, from + c.storedBytes);
          const head = packed.subarray(to, to + c.gapAt);
          const gap = packed.subarray(to + c.gapAt, to + c.gapAt + c.gap);
          const tail = packed.subarray(to + c.gapAt + c.gap, to + c.storedBytes + c.gap);
          expect(head).toEqual(stored.subarray(0, c.gapAt));
          expect(gap.every((b) => b === 0)).toBe(true);
          expect(tail).toEqual(stored.subarray(c.gapAt));
        }
      }
    });
  }

  it("rejects unsupported types", () => {
    expect(() => repackedLayout(GGMLType.Q5_K, 256)).toThrow(GPUUnsupportedError);
    expect(() => repackedLayout(GGMLType.Q5_K, 256)).toThrow(/Q5_K .* use one of F32, F16, Q8_0, Q4_0, Q4_K, Q6_K/);
  });

  it("rejects K off the block size", () => {
    expect(() => repackedLayout(GGMLType.Q4_K, 288)).toThrow(InvalidInputError);
    expect(() => repackedLayout(GGMLType.Q8_0, 40)).toThrow(/K = 40 .* multiple of the block size 32/);
    expect(() => repackedLayout(GGMLType.F32, 0)).toThrow(InvalidInputError);
  });

  it("rejects rows past the data", () => {
    const layout = repackedLayout(GGMLType.Q8_0, 32);
    expect(() => repackRows(layout, new Uint8Array(34 * 4), 2, 3)).toThrow(/rows \[2, 5\) .* need 170 bytes but 136/);
  });
});
