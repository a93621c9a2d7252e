import { afterAll, describe, it } from "vitest";
import { addDispatch } from "../../src/gpu/kernels/add.js";
import { addReference } from "../../src/gpu/reference/elementwise.js";
import { createRandom, expectClose, openTestContext } from "./helpers.js";
import { TOLERANCES } from "./tolerances.js";

const gpu = await openTestContext();

describe.skipIf(!gpu.ctx)("add kernel", () => {
  const ctx = gpu.ctx!;
  afterAll(() => ctx.dispose());

  async function check(n: number, seed: number) {
    const random = createRandom(seed);
    const x = random.floats(n, -4, 4);
    const y = random.floats(n, -4, 4);
    const xBuffer = ctx.createStorageBuffer("x", x);
    const yBuffer = ctx.createStorageBuffer("y", y);

    await ctx.run([addDispatch({ x: xBuffer, y: yBuffer, n })]);

    expectClose(await ctx.readFloat32(xBuffer, 0, n), addReference(x, y), TOLERANCES.add, { n, seed });
  }

  it("matches reference on fixed case", async () => {
    await check(256, 1);
  });

  it("matches reference on random sizes", async () => {
    const random = createRandom(7);
    for (let i = 0; i < 4; i++) await check(random.int(1, 3000), 100 + i);
  });
});
