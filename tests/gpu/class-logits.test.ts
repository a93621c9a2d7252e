import { afterAll, describe, expect, it } from "vitest";
import { GGMLType, ggmlTypeName } from "../../src/gguf/types.js";
import { CLASS_LOGITS_SOFTWARE_COLUMNS_PER_THREAD, classLogitsDispatches, classLogitsThreadsPerRow } from "../../src/gpu/kernels/class-logits.js";
import type { BindingLimits } from "../../src/gpu/kernels/weight-rows.js";
import { classLogitsReference } from "../../src/gpu/reference/class-logits.js";
import { createRandom, expectClose, openTestContext } from "./helpers.js";
import { TOLERANCES } from "./tolerances.js";
import { GATHER_TEST_TYPES, alignedRowStep, randomMatrix } from "./weight-data.js";

const gpu = await openTestContext();

interface Case {
  type: GGMLType;
  vocab: number;
  dim: number;
  positions: number;
  /** Number of class ids, or "all" for the full-vocabulary variant. */
  ids: number | "all";
  seed: number;
  limits?: BindingLimits;
  columnsPerThread?: number;
}

describe.skipIf(!gpu.ctx)("class logits kernels", () => {
  const ctx = gpu.ctx!;
  afterAll(() => ctx.dispose());

  async function check(c: Case): Promise<number> {
    const random = createRandom(c.seed);
    const eps = 1e-6;
    const hidden = random.normals(c.positions * c.dim, 3); // [positions, dim]
    const normWeight = random.floats(c.dim, 0.5, 1.5); // [dim]
    const output = randomMatrix(random, c.type, c.vocab, c.dim, 0.2); // [vocab, dim]
    const ids =
      c.ids === "all"
        ? Uint32Array.from({ length: c.vocab }, (_, i) => i)
        : Uint32Array.from({ length: c.ids }, (_, k) => (k === 0 ? c.vocab - 1 : random.int(0, c.vocab - 1)));
    const count = ids.length;

    const logits = ctx.createStorageBuffer("logits", count * 4);
    const logProbs = ctx.createStorageBuffer("logProbs", count * 4);
    const dispatches = classLogitsDispatches({
      hidden: ctx.createStorageBuffer("hidden", hidden),
      positions: c.positions,
      normWeight: ctx.createStorageBuffer("output_norm", normWeight),
      eps,
      output: { buffer: ctx.createStorageBuffer("output", output.bytes), type: c.type, rows: c.vocab, cols: c.dim, name: "output.weight" },
      ids: c.ids === "all" ? "all" : { buffer: ctx.createStorageBuffer("ids", ids), count },
      normed: ctx.createStorageBuffer("normed", c.dim * 4),
      logits,
      logProbs,
      limits: c.limits,
      ...(c.columnsPerThread === undefined ? {} : { columnsPerThread: c.columnsPerThread }),
    });
    await ctx.run(dispatches);

    const expected = classLogitsReference(hidden, c.dim, normWeight, eps, output.values, ids);
    const caseParams = { ...c, type: ggmlTypeName(c.type), limits: c.limits ? c.limits.maxStorageBufferBindingSize : "default" };
    expectClose(await ctx.readFloat32(logits, 0, count), expected.logits, TOLERANCES.classLogits, { ...caseParams, output: "logits" });
    expectClose(await ctx.readFloat32(logProbs, 0, count), expected.logProbs, TOLERANCES.classLogits, { ...caseParams, output: "logProbs" });
    return dispatches.length - 2;
  }

  it("matches reference on fixed case", async () => {
    await check({ type: GGMLType.F32, vocab: 50, dim: 64, positions: 3, ids: 2, seed: 1 });
  });

  for (const type of GATHER_TEST_TYPES) {
    it(`scores ${ggmlTypeName(type)} output rows`, async () => {
      const random = createRandom(800 + type);
      const blockSize = type === GGMLType.Q4_K || type === GGMLType.Q6_K ? 256 : 32;
      await check({ type, vocab: random.int(20, 300), dim: blockSize * random.int(1, 3), positions: random.int(1, 5), ids: random.int(1, 9), seed: 900 + type });
    });
  }

  it("scores full vocabulary", async () => {
    await check({ type: GGMLType.Q8_0, vocab: 333, dim: 96, positions: 2, ids: "all", seed: 7 });
    await check({ type: GGMLType.Q6_K, vocab: 70, dim: 256, positions: 1, ids: "all", seed: 8 });
  });

  it("shares rows among 1 to 64 threads", async () => {
    // dim 48 gives one thread per logit, 200 gives 4 and 4128 the cap of 64 (the workgroup size).
    for (const [dim, threads] of [[48, 1], [200, 4], [4128, 64]] as const) {
      expect(classLogitsThreadsPerRow(dim), `threads per row for dim ${dim}`).toBe(threads);
      await check({ type: GGMLType.F32, vocab: 1001, dim, positions: 2, ids: "all", seed: 30 + dim });
      await check({ type: GGMLType.F32, vocab: 1001, dim, positions: 1, ids: 37, seed: 40 + dim });
    }
  });

  it("one thread per long row", async () => {
    // The software-adapter setting: rows of up to 1024 columns get one thread, and 203 columns
    // leave a tail of 3 past the groups of 4.
    for (const dim of [203, 576]) {
      expect(classLogitsThreadsPerRow(dim, CLASS_LOGITS_SOFTWARE_COLUMNS_PER_THREAD)).toBe(1);
      await check({ type: GGMLType.F32, vocab: 301, dim, positions: 2, ids: "all", seed: 50 + dim, columnsPerThread: CLASS_LOGITS_SOFTWARE_COLUMNS_PER_THREAD });
    }
    for (const type of [GGMLType.Q8_0, GGMLType.Q4_0, GGMLType.F16]) {
      await check({ type, vocab: 301, dim: 576, positions: 1, ids: 11, seed: 60 + type, columnsPerThread: CLASS_LOGITS_SOFTWARE_COLUMNS_PER_THREAD });
    }
    expect(classLogitsThreadsPerRow(4128, CLASS_LOGITS_SOFTWARE_COLUMNS_PER_THREAD)).toBe(8);
    expect(() => classLogitsThreadsPerRow(10, 0)).toThrow(/columnsPerThread = 0/);
  });

  it("scores across binding chunks", async () => {
    for (const type of [GGMLType.F16, GGMLType.Q4_K]) {
      const dim = type === GGMLType.Q4_K ? 256 : 64;
      const probe = randomMatrix(createRandom(1), type, 1, dim);
      const step = alignedRowStep(probe.rowBytes);
      const limits = { maxStorageBufferBindingSize: 2 * step * probe.rowBytes, minStorageBufferOffsetAlignment: 256 };
      const vocab = 4 * step + 3;
      expect(await check({ type, vocab, dim, positions: 2, ids: 6, seed: 10 + type, limits }), ggmlTypeName(type)).toBe(3);
      expect(await check({ type, vocab, dim, positions: 2, ids: "all", seed: 20 + type, limits }), ggmlTypeName(type)).toBe(3);
    }
  });
});
