import { afterAll, describe, expect, it } from "vitest";
import { rmsnormDispatch } from "../../src/gpu/kernels/rmsnorm.js";
import { rmsnormReference } from "../../src/gpu/reference/rmsnorm.js";
import { createRandom, expectClose, openTestContext } from "./helpers.js";
import { TOLERANCES } from "./tolerances.js";

const gpu = await openTestContext();

describe.skipIf(!gpu.ctx)("rmsnorm kernel", () => {
  const ctx = gpu.ctx!;
  afterAll(() => ctx.dispose());

  async function check(inputRows: number, dim: number, eps: number, seed: number, lastRowOnly: boolean) {
    const random = createRandom(seed);
    const x = random.normals(inputRows * dim, 2); // [inputRows, dim]
    const weight = random.floats(dim, 0.5, 1.5); // [dim]
    const rows = lastRowOnly ? 1 : inputRows;
    const firstRow = lastRowOnly ? inputRows - 1 : 0;
    const out = ctx.createStorageBuffer("out", rows * dim * 4);

    await ctx.run([
      rmsnormDispatch({ x: ctx.createStorageBuffer("x", x), weight: ctx.createStorageBuffer("weight", weight), out, rows, dim, eps, firstRow }),
    ]);

    const expected = rmsnormReference(x, weight, dim, eps, firstRow, rows);
    expectClose(await ctx.readFloat32(out, 0, rows * dim), expected, TOLERANCES.rmsnorm, { inputRows, dim, eps, seed, lastRowOnly });
  }

  it("matches reference on fixed case", async () => {
    await check(4, 64, 1e-5, 1, false);
  });

  it("matches reference on random shapes", async () => {
    const random = createRandom(21);
    for (let i = 0; i < 5; i++) await check(random.int(1, 9), random.int(1, 700), i % 2 === 0 ? 1e-6 : 1e-5, 200 + i, false);
  });

  it("rejects invalid eps and sizes", () => {
    const buffer = ctx.createStorageBuffer("any", 64);
    const base = { x: buffer, weight: buffer, out: buffer, rows: 2, dim: 8, eps: 1e-5 };
    expect(() => rmsnormDispatch({ ...base, eps: 0 })).toThrow(/eps = 0/);
    expect(() => rmsnormDispatch({ ...base, rows: 3 })).toThrow(/x has 64 bytes/);
  });

  it("normalizes last row only", async () => {
    await check(7, 96, 1e-6, 3, true);
    await check(1, 33, 1e-5, 4, true);
  });
});
