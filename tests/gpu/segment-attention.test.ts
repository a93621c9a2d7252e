import { afterAll, describe, expect, it } from "vitest";
import { InvalidInputError } from "../../src/errors.js";
import type { AttentionVariant } from "../../src/gpu/kernels/attention.js";
import { segmentAttentionDispatch, segmentRowStarts, SuffixSegments } from "../../src/gpu/kernels/segment-attention.js";
import { attentionReference } from "../../src/gpu/reference/attention.js";
import { segmentAttentionReference } from "../../src/gpu/reference/segment-attention.js";
import { createRandom, expectClose, openTestContext } from "./helpers.js";
import { TOLERANCES } from "./tolerances.js";

interface SegmentCase {
  lengths: number[];
  nHead: number;
  nHeadKv: number;
  headDim: number;
  prefixLength: number;
  suffixStart: number;
  /** Cache rows past the last suffix row, left as random values the kernel must not read. */
  spareRows: number;
  scale: number;
  /** Kernel variant, or the adapter's default when absent. */
  variant?: AttentionVariant;
}

describe("segment row starts", () => {
  it("maps rows to segment start", () => {
    expect(Array.from(segmentRowStarts([2, 0, 3, 1]))).toEqual([0, 0, 2, 2, 2, 5]);
  });

  it("rejects invalid lengths", () => {
    expect(() => segmentRowStarts([2, -1])).toThrow(/length 1 = -1 is invalid/);
    expect(() => segmentRowStarts([0, 0])).toThrow(InvalidInputError);
    expect(() => segmentRowStarts([1.5])).toThrow(InvalidInputError);
  });
});

const gpu = await openTestContext();

describe.skipIf(!gpu.ctx)("segment attention kernel", () => {
  const ctx = gpu.ctx!;
  afterAll(() => ctx.dispose());

  /** Runs the kernel on random q and caches and returns the inputs with the GPU output. */
  async function run(testCase: SegmentCase, seed: number, scoreScale = 1) {
    const { lengths, nHead, nHeadKv, headDim, prefixLength, suffixStart, spareRows, scale } = testCase;
    const rows = lengths.reduce((sum, length) => sum + length, 0);
    const nCtx = suffixStart + rows + spareRows;
    const random = createRandom(seed);
    const q = random.normals(rows * nHead * headDim, scoreScale); // [rows, nHead, headDim]
    const kCache = random.normals(nCtx * nHeadKv * headDim); // [nCtx, nHeadKv, headDim]
    const vCache = random.normals(nCtx * nHeadKv * headDim); // [nCtx, nHeadKv, headDim]
    const out = ctx.createStorageBuffer("out", q.length * 4);
    const segments = SuffixSegments.create(ctx, lengths);

    await ctx.run([
      segmentAttentionDispatch(ctx, {
        q: ctx.createStorageBuffer("q", q),
        kCache: ctx.createStorageBuffer("k", kCache),
        vCache: ctx.createStorageBuffer("v", vCache),
        out,
        segments,
        nHead,
        nHeadKv,
        headDim,
        prefixLength,
        suffixStart,
        nCtx,
        scale,
        ...(testCase.variant ? { variant: testCase.variant } : {}),
      }),
    ]);
    segments.dispose();
    return { q, kCache, vCache, nCtx, actual: await ctx.readFloat32(out, 0, q.length) };
  }

  async function check(testCase: SegmentCase, seed: number, scoreScale = 1) {
    const { q, kCache, vCache, nCtx, actual } = await run(testCase, seed, scoreScale);
    const expected = segmentAttentionReference(q, kCache, vCache, testCase);
    expectClose(actual, expected, TOLERANCES.segmentAttention, { ...testCase, nCtx, seed, scoreScale });
  }

  it("matches reference on fixed case", async () => {
    await check({ lengths: [2, 0, 3, 1], nHead: 4, nHeadKv: 2, headDim: 16, prefixLength: 5, suffixStart: 5, spareRows: 2, scale: 0.25 }, 1);
  });

  it("matches reference on random shapes", async () => {
    const random = createRandom(53);
    const headGroups = [[4, 4], [4, 2], [6, 2], [8, 1]] as const;
    for (let i = 0; i < 5; i++) {
      const [nHead, nHeadKv] = headGroups[i % headGroups.length]!;
      const headDim = random.int(1, 130);
      const lengths = Array.from({ length: random.int(1, 5) }, () => random.int(1, 12));
      // Several tiles of 64 keys for some cases, so the running max and sum are rescaled.
      const prefixLength = random.int(0, i % 2 === 0 ? 150 : 10);
      const suffixStart = prefixLength + (i % 3 === 0 ? random.int(1, 4) : 0);
      const testCase = { lengths, nHead, nHeadKv, headDim, prefixLength, suffixStart, spareRows: random.int(0, 3), scale: 1 / Math.sqrt(headDim) };
      await check(testCase, 500 + i);
    }
  });

  it("both variants on random shapes", async () => {
    const random = createRandom(54);
    for (let i = 0; i < 4; i++) {
      const headDim = 4 * random.int(1, 32);
      const lengths = Array.from({ length: random.int(1, 5) }, () => random.int(1, 12));
      const prefixLength = random.int(0, i % 2 === 0 ? 150 : 10);
      const suffixStart = prefixLength + (i % 3 === 0 ? random.int(1, 4) : 0);
      for (const variant of ["workgroup", "per-query"] as const) {
        const testCase = { lengths, nHead: 6, nHeadKv: 2, headDim, prefixLength, suffixStart, spareRows: random.int(0, 3), scale: 1 / Math.sqrt(headDim), variant };
        await check(testCase, 600 + i);
      }
    }
  });

  it("equals each segment run alone", async () => {
    // Segment j alone: a cache of the prefix followed by its own rows, and plain causal attention
    // of its L_j queries from position P. A segment of 70 rows crosses a 64-key tile on its own.
    const testCase: SegmentCase = { lengths: [3, 1, 70, 5], nHead: 4, nHeadKv: 2, headDim: 24, prefixLength: 37, suffixStart: 37, spareRows: 0, scale: 1 / Math.sqrt(24) };
    const { nHead, nHeadKv, headDim, prefixLength } = testCase;
    const { q, kCache, vCache, nCtx, actual } = await run(testCase, 91);
    const kvRow = nHeadKv * headDim;
    const qRow = nHead * headDim;

    let start = 0;
    for (const [segment, length] of testCase.lengths.entries()) {
      const ownRows = [prefixLength + start, prefixLength + start + length]; // cache rows of the segment
      const ownK = new Float32Array((prefixLength + length) * kvRow); // [P + L_j, nHeadKv, headDim]
      ownK.set(kCache.subarray(0, prefixLength * kvRow));
      ownK.set(kCache.subarray(ownRows[0]! * kvRow, ownRows[1]! * kvRow), prefixLength * kvRow);
      const ownV = new Float32Array((prefixLength + length) * kvRow); // [P + L_j, nHeadKv, headDim]
      ownV.set(vCache.subarray(0, prefixLength * kvRow));
      ownV.set(vCache.subarray(ownRows[0]! * kvRow, ownRows[1]! * kvRow), prefixLength * kvRow);

      const ownQ = q.subarray(start * qRow, (start + length) * qRow); // [L_j, nHead, headDim]
      const expected = attentionReference(ownQ, ownK, ownV, { tokens: length, nHead, nHeadKv, headDim, firstPosition: prefixLength, scale: testCase.scale });
      expectClose(actual.subarray(start * qRow, (start + length) * qRow), expected, TOLERANCES.segmentAttention, { ...testCase, nCtx, segment, seed: 91 });
      start += length;
    }
  });

  it("handles empty prefix", async () => {
    // Without a prefix, each segment's first row attends to itself alone.
    await check({ lengths: [1, 4, 2], nHead: 2, nHeadKv: 1, headDim: 8, prefixLength: 0, suffixStart: 0, spareRows: 1, scale: 0.5 }, 2);
  });

  it("stays finite with large scores", async () => {
    // Scores near +-100: exp without the running max would overflow f32.
    await check({ lengths: [2, 3], nHead: 2, nHeadKv: 1, headDim: 32, prefixLength: 70, suffixStart: 70, spareRows: 0, scale: 1 }, 5, 3);
  });

  it("rejects invalid shapes", () => {
    const buffer = ctx.createStorageBuffer("any", 4096);
    const segments = SuffixSegments.create(ctx, [2, 1]);
    const base = { q: buffer, kCache: buffer, vCache: buffer, out: buffer, segments, nHead: 4, nHeadKv: 2, headDim: 8, prefixLength: 4, nCtx: 7 };
    expect(() => segmentAttentionDispatch(ctx, base)).not.toThrow();
    expect(() => segmentAttentionDispatch(ctx, { ...base, nHeadKv: 3 })).toThrow(/multiple of nHeadKv = 3/);
    expect(() => segmentAttentionDispatch(ctx, { ...base, suffixStart: 3 })).toThrow(/below prefixLength = 4/);
    expect(() => segmentAttentionDispatch(ctx, { ...base, nCtx: 6 })).toThrow(/do not fit the KV cache of nCtx = 6/);
    expect(() => segmentAttentionDispatch(ctx, { ...base, headDim: 300 })).toThrow(InvalidInputError);
    segments.dispose();
  });
});
