import { afterAll, describe, it } from "vitest";
import { swigluDispatch } from "../../src/gpu/kernels/swiglu.js";
import { swigluReference } from "../../src/gpu/reference/elementwise.js";
import { createRandom, expectClose, openTestContext } from "./helpers.js";
import { TOLERANCES } from "./tolerances.js";

const gpu = await openTestContext();

describe.skipIf(!gpu.ctx)("swiglu kernel", () => {
  const ctx = gpu.ctx!;
  afterAll(() => ctx.dispose());

  async function check(gate: Float32Array, up: Float32Array, caseParams: Record<string, unknown>) {
    const n = gate.length;
    const out = ctx.createStorageBuffer("out", n * 4);
    await ctx.run([swigluDispatch({ gate: ctx.createStorageBuffer("gate", gate), up: ctx.createStorageBuffer("up", up), out, n })]);
    expectClose(await ctx.readFloat32(out, 0, n), swigluReference(gate, up), TOLERANCES.swiglu, caseParams);
  }

  it("matches reference on fixed case", async () => {
    // Large |gate| checks that silu neither overflows nor loses its sign.
    const gate = Float32Array.of(0, 1, -1, 20, -20, 88, -88, 0.001);
    const up = Float32Array.of(1, 2, 3, 4, 5, 6, 7, 8);
    await check(gate, up, { fixed: true });
  });

  it("matches reference on random sizes", async () => {
    const random = createRandom(11);
    for (let i = 0; i < 4; i++) {
      const n = random.int(1, 2000);
      await check(random.floats(n, -8, 8), random.floats(n, -2, 2), { n, seed: 11, case: i });
    }
  });
});
