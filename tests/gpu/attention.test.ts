import { afterAll, describe, expect, it } from "vitest";
import { InvalidInputError } from "../../src/errors.js";
import { ATTENTION_MAX_HEAD_DIM, attentionDispatch, defaultAttentionVariant, type AttentionVariant } from "../../src/gpu/kernels/attention.js";
import { attentionReference, type AttentionReferenceArgs } from "../../src/gpu/reference/attention.js";
import { createRandom, expectClose, openTestContext } from "./helpers.js";
import { TOLERANCES } from "./tolerances.js";

const gpu = await openTestContext();

describe.skipIf(!gpu.ctx)("attention kernel", () => {
  const ctx = gpu.ctx!;
  afterAll(() => ctx.dispose());

  async function check(args: AttentionReferenceArgs, nCtx: number, seed: number, scoreScale = 1, variant: AttentionVariant = "workgroup") {
    const { tokens, nHead, nHeadKv, headDim, firstPosition, scale } = args;
    const random = createRandom(seed);
    const q = random.normals(tokens * nHead * headDim, scoreScale); // [tokens, nHead, headDim]
    const kCache = random.normals(nCtx * nHeadKv * headDim); // [nCtx, nHeadKv, headDim]
    const vCache = random.normals(nCtx * nHeadKv * headDim); // [nCtx, nHeadKv, headDim]
    const out = ctx.createStorageBuffer("out", q.length * 4);

    await ctx.run([
      attentionDispatch({
        q: ctx.createStorageBuffer("q", q),
        kCache: ctx.createStorageBuffer("k", kCache),
        vCache: ctx.createStorageBuffer("v", vCache),
        out,
        tokens,
        nHead,
        nHeadKv,
        headDim,
        firstPosition,
        nCtx,
        scale,
        variant,
      }),
    ]);

    const expected = attentionReference(q, kCache, vCache, args);
    expectClose(await ctx.readFloat32(out, 0, q.length), expected, TOLERANCES.attention, { ...args, nCtx, seed, scoreScale, variant });
  }

  it("matches reference on fixed case", async () => {
    await check({ tokens: 3, nHead: 4, nHeadKv: 2, headDim: 16, firstPosition: 2, scale: 0.25 }, 8, 1);
  });

  it("matches reference on random shapes", async () => {
    const random = createRandom(41);
    const headGroups = [[4, 4], [4, 2], [6, 2], [8, 1]] as const;
    for (let i = 0; i < 5; i++) {
      const [nHead, nHeadKv] = headGroups[i % headGroups.length]!;
      const headDim = random.int(1, 130);
      const tokens = random.int(1, 6);
      // Several tiles of 64 keys for some cases, so the running max and sum are rescaled.
      const firstPosition = random.int(0, i % 2 === 0 ? 150 : 10);
      const nCtx = firstPosition + tokens + random.int(0, 5);
      await check({ tokens, nHead, nHeadKv, headDim, firstPosition, scale: 1 / Math.sqrt(headDim) }, nCtx, 400 + i);
    }
  });

  it("per-query variant on random shapes", async () => {
    const random = createRandom(42);
    const headGroups = [[4, 4], [4, 2], [6, 2], [8, 1]] as const;
    for (let i = 0; i < 5; i++) {
      const [nHead, nHeadKv] = headGroups[i % headGroups.length]!;
      const headDim = 4 * random.int(1, 32);
      // Up to 70 query-head pairs, so some cases leave threads of the last workgroup idle.
      const tokens = random.int(1, 12);
      const firstPosition = random.int(0, i % 2 === 0 ? 150 : 10);
      const nCtx = firstPosition + tokens + random.int(0, 5);
      await check({ tokens, nHead, nHeadKv, headDim, firstPosition, scale: 1 / Math.sqrt(headDim) }, nCtx, 500 + i, 1, "per-query");
    }
  });

  it("handles max head dim", async () => {
    await check({ tokens: 2, nHead: 2, nHeadKv: 2, headDim: ATTENTION_MAX_HEAD_DIM, firstPosition: 65, scale: 1 / 16 }, 67, 6);
    await check({ tokens: 2, nHead: 2, nHeadKv: 2, headDim: ATTENTION_MAX_HEAD_DIM, firstPosition: 65, scale: 1 / 16 }, 67, 6, 1, "per-query");
  });

  it("per-query variant needs head dim multiple of 4", () => {
    const buffer = ctx.createStorageBuffer("any", 4096);
    const base = { q: buffer, kCache: buffer, vCache: buffer, out: buffer, tokens: 1, nHead: 4, nHeadKv: 2, headDim: 6, firstPosition: 0, nCtx: 4 };
    expect(() => attentionDispatch({ ...base, variant: "per-query" })).toThrow(/multiple of 4 but headDim = 6/);
    expect(defaultAttentionVariant({ isSoftwareAdapter: true }, 6)).toBe("workgroup");
    expect(defaultAttentionVariant({ isSoftwareAdapter: true }, 64)).toBe("per-query");
    expect(defaultAttentionVariant({ isSoftwareAdapter: false }, 64)).toBe("workgroup");
  });

  it("rejects invalid shapes", () => {
    const buffer = ctx.createStorageBuffer("any", 4096);
    const base = { q: buffer, kCache: buffer, vCache: buffer, out: buffer, tokens: 1, nHead: 4, nHeadKv: 2, headDim: 8, firstPosition: 0, nCtx: 4 };
    expect(() => attentionDispatch({ ...base, nHeadKv: 3 })).toThrow(/multiple of nHeadKv = 3/);
    expect(() => attentionDispatch({ ...base, headDim: ATTENTION_MAX_HEAD_DIM + 2 })).toThrow(InvalidInputError);
    expect(() => attentionDispatch({ ...base, firstPosition: 4 })).toThrow(/do not fit the KV cache/);
  });

  it("stays finite with large scores", async () => {
    // Scores near +-100: exp without the running max would overflow f32.
    await check({ tokens: 2, nHead: 2, nHeadKv: 1, headDim: 32, firstPosition: 70, scale: 1 }, 72, 5, 3);
    await check({ tokens: 2, nHead: 2, nHeadKv: 1, headDim: 32, firstPosition: 70, scale: 1 }, 72, 5, 3, "per-query");
  });
});
