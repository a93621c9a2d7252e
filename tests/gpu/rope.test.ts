import { afterAll, describe, expect, it } from "vitest";
import { ropeDispatch, ropeTable } from "../../src/gpu/kernels/rope.js";
import { ropeReference, type RopeReferenceArgs } from "../../src/gpu/reference/rope.js";
import { createRandom, expectClose, openTestContext } from "./helpers.js";
import { TOLERANCES } from "./tolerances.js";

const gpu = await openTestContext();

describe.skipIf(!gpu.ctx)("rope kernel", () => {
  const ctx = gpu.ctx!;
  afterAll(() => ctx.dispose());

  async function check(args: RopeReferenceArgs, seed: number) {
    const { tokens, heads, headDim, rotDims, firstPosition, freqBase, freqScale, neox } = args;
    const x = createRandom(seed).floats(tokens * heads * headDim, -2, 2); // [tokens, heads, headDim]
    const xBuffer = ctx.createStorageBuffer("x", x);
    const table = ctx.createStorageBuffer("table", ropeTable({ firstPosition, tokens, rotDims, freqBase, freqScale }));

    await ctx.run([ropeDispatch({ x: xBuffer, table, tokens, heads, headDim, rotDims, neox })]);

    expectClose(await ctx.readFloat32(xBuffer, 0, x.length), ropeReference(x, args), TOLERANCES.rope, { ...args, seed });
  }

  it("matches reference on fixed case", async () => {
    const base = { tokens: 3, heads: 2, headDim: 8, rotDims: 8, firstPosition: 5, freqBase: 10000, freqScale: 1 };
    await check({ ...base, neox: false }, 1);
    await check({ ...base, neox: true }, 1);
  });

  it("rejects invalid rotation dims", () => {
    const buffer = ctx.createStorageBuffer("any", 1024);
    const base = { x: buffer, table: buffer, tokens: 1, heads: 1, headDim: 8, neox: false };
    expect(() => ropeDispatch({ ...base, rotDims: 7 })).toThrow(/rotDims = 7/);
    expect(() => ropeDispatch({ ...base, rotDims: 10 })).toThrow(/at most headDim = 8/);
    expect(() => ropeTable({ firstPosition: 0, tokens: 1, rotDims: 8, freqBase: 0 })).toThrow(/freqBase = 0/);
  });

  it("matches reference on random shapes", async () => {
    const random = createRandom(31);
    for (let i = 0; i < 6; i++) {
      const headDim = 2 * random.int(1, 48);
      const args: RopeReferenceArgs = {
        tokens: random.int(1, 9),
        heads: random.int(1, 5),
        headDim,
        rotDims: i % 3 === 2 ? 2 * random.int(1, headDim / 2) : headDim,
        firstPosition: random.int(0, 900),
        freqBase: i % 2 === 0 ? 10000 : 1000000,
        freqScale: i % 3 === 1 ? 0.25 : 1,
        neox: i % 2 === 1,
      };
      await check(args, 300 + i);
    }
  });
});
