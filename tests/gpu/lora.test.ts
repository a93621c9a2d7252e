import { afterAll, describe, expect, it } from "vitest";
import type { LoraAdapter, LoraMatrix } from "../../src/adapters/lora.js";
import { AdapterMismatchError, InvalidInputError } from "../../src/errors.js";
import { GGMLType } from "../../src/gguf/types.js";
import {
  createLoraAdapterSets,
  LORA_TILE_ROWS,
  LoraAdapterSet,
  LoraRowTiles,
  loraDispatches,
  loraScratchBytes,
  loraTileTable,
  type LoraSegment,
  type LoraSlotWeights,
} from "../../src/gpu/kernels/lora.js";
import { matmulDispatches, MatmulWeights } from "../../src/gpu/kernels/matmul.js";
import { loraReference, mergedLoraReference } from "../../src/gpu/reference/lora.js";
import { createRandom, expectClose, openTestContext, type Random } from "./helpers.js";
import { TOLERANCES } from "./tolerances.js";

interface LoraCase {
  m: number;
  k: number;
  n: number;
  /** Rank per slot, where 0 leaves the slot without matrices. */
  ranks: number[];
  segments: LoraSegment[];
}

/** Random A [rank, k], B [n, rank] and scale for each slot with a nonzero rank. */
function randomSlots(random: Random, testCase: LoraCase): (LoraSlotWeights | undefined)[] {
  return testCase.ranks.map((rank) => {
    if (rank === 0) return undefined;
    return { a: random.floats(rank * testCase.k), b: random.floats(testCase.n * rank), rank, scale: random.float(0.25, 2) };
  });
}

/** Splits [0, m) into consecutive segments of 1 .. 2 * LORA_TILE_ROWS + 3 rows with random slots (-1 included), leaving some rows uncovered. */
function randomSegments(random: Random, m: number, slotCount: number): LoraSegment[] {
  const segments: LoraSegment[] = [];
  for (let rowStart = 0; rowStart < m; ) {
    const rowCount = Math.min(random.int(1, 2 * LORA_TILE_ROWS + 3), m - rowStart);
    if (random.next() < 0.85) segments.push({ rowStart, rowCount, slot: random.int(-1, slotCount - 1) });
    rowStart += rowCount;
  }
  return segments.reverse(); // the tile table must not depend on segment order
}

describe("lora tile table", () => {
  it("cuts segments into tiles", () => {
    const table = loraTileTable(20, [
      { rowStart: 0, rowCount: 3, slot: 1 },
      { rowStart: 3, rowCount: 2, slot: -1 },
      { rowStart: 5, rowCount: LORA_TILE_ROWS + 2, slot: 0 },
      { rowStart: 15, rowCount: 0, slot: 0 },
    ]);
    expect(Array.from(table)).toEqual([0, 3, 1, 5, LORA_TILE_ROWS, 0, 5 + LORA_TILE_ROWS, 2, 0]);
  });

  it("rejects invalid segments", () => {
    expect(() => loraTileTable(10, [{ rowStart: 8, rowCount: 3, slot: 0 }])).toThrow(/outside the 10 rows/);
    expect(() => loraTileTable(10, [{ rowStart: 0, rowCount: 4, slot: 0 }, { rowStart: 3, rowCount: 2, slot: 1 }])).toThrow(/overlaps an earlier segment at row 3/);
    expect(() => loraTileTable(10, [{ rowStart: 0, rowCount: 1, slot: -2 }])).toThrow(InvalidInputError);
    expect(() => loraTileTable(0, [])).toThrow(/m = 0 is invalid/);
  });
});

const gpu = await openTestContext();

describe.skipIf(!gpu.ctx)("lora kernels", () => {
  const ctx = gpu.ctx!;
  afterAll(() => ctx.dispose());

  /** Runs the LoRA dispatches on a random base y and compares with loraReference. */
  async function check(testCase: LoraCase, seed: number) {
    const { m, k, n, segments } = testCase;
    const random = createRandom(seed);
    const slots = randomSlots(random, testCase);
    const x = random.floats(m * k); // [m, k]
    const base = random.floats(m * n); // [m, n]

    const set = LoraAdapterSet.create(ctx, { k, n, slots, label: "test.lora" });
    const tiles = LoraRowTiles.create(ctx, { m, segments });
    const y = ctx.createStorageBuffer("y", base);
    const scratch = ctx.createStorageBuffer("t", Math.max(loraScratchBytes(m, set), 4));
    await ctx.run(loraDispatches(ctx, { x: ctx.createStorageBuffer("x", x), y, scratch, set, tiles }));

    const expected = loraReference(x, base, testCase, slots, segments);
    expectClose(await ctx.readFloat32(y, 0, m * n), expected, TOLERANCES.lora, { ...testCase, seed });
  }

  it("matches reference on fixed case", async () => {
    await check(
      {
        m: 7,
        k: 9,
        n: 6,
        ranks: [2, 1, 0],
        segments: [
          { rowStart: 0, rowCount: 2, slot: 0 },
          { rowStart: 2, rowCount: 1, slot: -1 },
          { rowStart: 3, rowCount: 3, slot: 1 },
          { rowStart: 6, rowCount: 1, slot: 2 },
        ],
      },
      3,
    );
  });

  it("matches reference on random shapes", async () => {
    const random = createRandom(77);
    const rankChoices = [0, 1, 4, 8, 16, 5];
    for (let i = 0; i < 5; i++) {
      const slotCount = random.int(1, 4);
      const ranks = Array.from({ length: slotCount }, () => rankChoices[random.int(0, rankChoices.length - 1)]!);
      const m = random.int(1, 45);
      const testCase: LoraCase = { m, k: random.int(1, 150), n: random.int(1, 150), ranks, segments: randomSegments(random, m, slotCount) };
      await check(testCase, 700 + i);
    }
  });

  it("handles rank above workgroup size", async () => {
    // Rank 70 takes two rank chunks in the expand kernel and an uneven last chunk in shrink.
    await check({ m: 11, k: 33, n: 70, ranks: [70, 3], segments: [{ rowStart: 0, rowCount: 9, slot: 0 }, { rowStart: 9, rowCount: 2, slot: 1 }] }, 9);
  });

  it("equals merged weights after matmul", async () => {
    const random = createRandom(123);
    for (const [m, k, n] of [[5, 40, 37], [29, 67, 50]] as const) {
      const testCase: LoraCase = { m, k, n, ranks: [4, 1, 16, 0], segments: randomSegments(random, m, 4) };
      const slots = randomSlots(random, testCase);
      const x = random.floats(m * k); // [m, k]
      const w = random.floats(n * k); // [n, k]

      const weights = MatmulWeights.create(ctx, { type: GGMLType.F32, bytes: new Uint8Array(w.buffer), n, k, label: "test.w" });
      const set = LoraAdapterSet.create(ctx, { k, n, slots });
      const tiles = LoraRowTiles.create(ctx, { m, segments: testCase.segments });
      const xBuffer = ctx.createStorageBuffer("x", x);
      const y = ctx.createStorageBuffer("y", m * n * 4);
      const scratch = ctx.createStorageBuffer("t", loraScratchBytes(m, set));
      await ctx.run([
        ...matmulDispatches(ctx, { x: xBuffer, weights, out: y, m }),
        ...loraDispatches(ctx, { x: xBuffer, y, scratch, set, tiles }),
      ]);

      const expected = mergedLoraReference(x, w, testCase, slots, testCase.segments);
      expectClose(await ctx.readFloat32(y, 0, m * n), expected, TOLERANCES.loraMerged, { ...testCase, seed: 123 });
    }
  });

  it("builds adapter sets per weight", async () => {
    const random = createRandom(31);
    const matrix = (rank: number, inFeatures: number, outFeatures: number): LoraMatrix => ({
      a: random.floats(rank * inFeatures),
      b: random.floats(outFeatures * rank),
      rank,
      inFeatures,
      outFeatures,
      scale: 0.5,
    });
    const first: LoraAdapter = { name: "first", matrices: new Map([["blk.0.attn_q.weight", matrix(2, 12, 10)], ["blk.0.ffn_up.weight", matrix(2, 10, 20)]]) };
    const second: LoraAdapter = { name: "second", matrices: new Map([["blk.0.attn_q.weight", matrix(5, 12, 10)]]) };

    const sets = createLoraAdapterSets(ctx, [first, second]);
    expect([...sets.keys()].sort()).toEqual(["blk.0.attn_q.weight", "blk.0.ffn_up.weight"]);
    expect(sets.get("blk.0.attn_q.weight")!.ranks).toEqual([2, 5]);
    expect(sets.get("blk.0.ffn_up.weight")!.ranks).toEqual([2, 0]);

    // The set computes the same delta as the matrices passed one by one.
    const set = sets.get("blk.0.attn_q.weight")!;
    const m = 6;
    const segments: LoraSegment[] = [{ rowStart: 0, rowCount: 2, slot: 1 }, { rowStart: 2, rowCount: 4, slot: 0 }];
    const x = random.floats(m * 12); // [m, k]
    const y = ctx.createStorageBuffer("y", m * 10 * 4);
    const tiles = LoraRowTiles.create(ctx, { m, segments });
    const scratch = ctx.createStorageBuffer("t", loraScratchBytes(m, set));
    await ctx.run(loraDispatches(ctx, { x: ctx.createStorageBuffer("x", x), y, scratch, set, tiles }));
    const slots = [first.matrices.get("blk.0.attn_q.weight"), second.matrices.get("blk.0.attn_q.weight")];
    const expected = loraReference(x, new Float32Array(m * 10), { m, k: 12, n: 10 }, slots, segments);
    expectClose(await ctx.readFloat32(y, 0, m * 10), expected, TOLERANCES.lora, { m, segments, seed: 31 });

    const wrongShape: LoraAdapter = { name: "wrong", matrices: new Map([["blk.0.ffn_up.weight", matrix(2, 10, 21)]]) };
    expect(() => createLoraAdapterSets(ctx, [first, wrongShape])).toThrow(AdapterMismatchError);
    for (const built of sets.values()) built.dispose();
  });

  it("skips dispatch without adapters", () => {
    const set = LoraAdapterSet.create(ctx, { k: 4, n: 4, slots: [undefined, undefined] });
    const tiles = LoraRowTiles.create(ctx, { m: 3, segments: [{ rowStart: 0, rowCount: 3, slot: 1 }] });
    const buffer = ctx.createStorageBuffer("any", 64);
    expect(loraDispatches(ctx, { x: buffer, y: buffer, scratch: buffer, set, tiles })).toEqual([]);
  });

  it("rejects mismatched inputs", () => {
    const a = new Float32Array(2 * 4);
    const b = new Float32Array(5 * 2);
    expect(() => LoraAdapterSet.create(ctx, { k: 4, n: 5, slots: [{ a, b, rank: 3, scale: 1 }] })).toThrow(/A has 8 values but \[3, 4\] needs 12/);
    expect(() => LoraAdapterSet.create(ctx, { k: 4, n: 5, slots: [{ a, b, rank: 0, scale: 1 }] })).toThrow(/rank = 0 is invalid/);
    expect(() => LoraAdapterSet.create(ctx, { k: 4, n: 5, slots: [] })).toThrow(/slots is empty/);

    const set = LoraAdapterSet.create(ctx, { k: 4, n: 5, slots: [{ a, b, rank: 2, scale: 1 }] });
    const tiles = LoraRowTiles.create(ctx, { m: 3, segments: [{ rowStart: 0, rowCount: 3, slot: 1 }] });
    const big = ctx.createStorageBuffer("big", 1024);
    expect(() => loraDispatches(ctx, { x: big, y: big, scratch: big, set, tiles })).toThrow(/uses slot 1 but the adapter set has 1 slots/);

    const oneSlot = LoraRowTiles.create(ctx, { m: 3, segments: [{ rowStart: 0, rowCount: 3, slot: 0 }] });
    const small = ctx.createStorageBuffer("small", 16);
    expect(() => loraDispatches(ctx, { x: small, y: big, scratch: big, set, tiles: oneSlot })).toThrow(/x buffer "small" has 16 bytes but \[3, 4\] f32 needs 48/);
  });
});
