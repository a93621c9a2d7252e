import { afterAll, describe, expect, it } from "vitest";
import { GPUUnsupportedError, InvalidInputError } from "../../src/errors.js";
import { quantize } from "../../src/gguf/quant.js";
import { GGMLType, ggmlTypeName } from "../../src/gguf/types.js";
import { defaultMatmulKernel, MatmulWeights, matmul } from "../../src/gpu/kernels/matmul.js";
import { MATMUL_WEIGHT_TYPES } from "../../src/gpu/repack.js";
import { createRandom, openTestContext } from "./helpers.js";
import { checkMatmulCase, randomK, type MatmulCase } from "./matmul-check.js";

const gpu = await openTestContext();

describe.skipIf(!gpu.ctx)("matmul kernels", () => {
  const ctx = gpu.ctx!;
  afterAll(() => ctx.dispose());

  const check = (c: MatmulCase) => checkMatmulCase(ctx, c);

  it("matches reference on fixed case", async () => {
    await check({ type: GGMLType.Q8_0, kernel: "rows", m: 3, n: 40, k: 256, seed: 1, bias: true });
    await check({ type: GGMLType.Q8_0, kernel: "tiled", m: 37, n: 40, k: 256, seed: 1, bias: true });
    await check({ type: GGMLType.Q8_0, kernel: "blocked", m: 37, n: 40, k: 256, seed: 1, bias: true });
  });

  for (const type of MATMUL_WEIGHT_TYPES) {
    const name = ggmlTypeName(type);

    it(`rows kernel on random ${name} shapes`, async () => {
      const random = createRandom(1000 + type);
      for (let i = 0; i < 3; i++) {
        const subgroups = ctx.features.subgroups ? i !== 1 : false;
        await check({ type, kernel: "rows", m: random.int(1, 8), n: random.int(1, 150), k: randomK(random, type), seed: 10 * type + i, bias: i === 2, subgroups });
      }
    });

    it(`tiled kernel on random ${name} shapes`, async () => {
      const random = createRandom(2000 + type);
      for (let i = 0; i < 3; i++) {
        const m = i === 0 ? random.int(1, 8) : random.int(9, 70);
        await check({ type, kernel: "tiled", m, n: random.int(1, 150), k: randomK(random, type), seed: 20 * type + i, bias: i === 2 });
      }
    });

    it(`blocked kernel on random ${name} shapes`, async () => {
      const random = createRandom(3000 + type);
      for (let i = 0; i < 3; i++) {
        // m and n not multiples of the 4 x 4 thread block or the 64 x 16 workgroup block in most cases.
        const m = i === 0 ? random.int(1, 8) : random.int(9, 70);
        const k = Math.ceil(randomK(random, type) / 8) * 8;
        await check({ type, kernel: "blocked", m, n: random.int(1, 150), k, seed: 30 * type + i, bias: i === 2 });
      }
    });
  }

  it("rows kernel without subgroups", async () => {
    await check({ type: GGMLType.Q4_K, kernel: "rows", m: 5, n: 33, k: 512, seed: 5, subgroups: false });
  });

  it("rows kernel past 65535 columns", async () => {
    // 70000 workgroups exceed one grid dimension, so the dispatch uses a 2-D grid.
    await check({ type: GGMLType.Q8_0, kernel: "rows", m: 2, n: 70_000, k: 32, seed: 9, bias: true });
  });

  it("split weights across chunks", async () => {
    // Q6_K rows of K = 256 are 212 bytes after repacking, so 1500 bytes fit 7 rows: 45 rows make 7 chunks.
    for (const kernel of ["rows", "tiled", "blocked"] as const) {
      await check({ type: GGMLType.Q6_K, kernel, m: kernel === "rows" ? 2 : 40, n: 45, k: 256, seed: 6, bias: true, maxChunkBytes: 1500 });
    }
    await check({ type: GGMLType.F16, kernel: "tiled", m: 12, n: 70, k: 40, seed: 7, maxChunkBytes: 1000 });
  });

  it("blocked kernel rejects K not multiple of 8", async () => {
    const weights = MatmulWeights.create(ctx, { type: GGMLType.F32, bytes: new Uint8Array(4 * 4 * 12), n: 4, k: 12 });
    const x = ctx.createStorageBuffer("x", 2 * 12 * 4);
    const out = ctx.createStorageBuffer("y", 2 * 4 * 4);
    try {
      await expect(matmul(ctx, { x, weights, out, m: 2, kernel: "blocked" })).rejects.toThrow(/multiple of 8 but K = 12/);
      expect(defaultMatmulKernel(ctx, 2, 12)).not.toBe("blocked");
    } finally {
      weights.dispose();
      ctx.destroyBuffer(x);
      ctx.destroyBuffer(out);
    }
  });

  it("default kernel by adapter", () => {
    expect(defaultMatmulKernel(ctx, 64, 576)).toBe(ctx.isSoftwareAdapter ? "blocked" : "tiled");
    expect(defaultMatmulKernel(ctx, 1, 576)).toBe(ctx.isSoftwareAdapter ? "blocked" : "rows");
  });

  it("split chunk count", () => {
    const bytes = quantize(GGMLType.Q6_K, new Float32Array(45 * 256));
    const weights = MatmulWeights.create(ctx, { type: GGMLType.Q6_K, bytes, n: 45, k: 256, maxChunkBytes: 1500 });
    try {
      expect(weights.chunks.map((chunk) => chunk.rowCount)).toEqual([7, 7, 7, 7, 7, 7, 3]);
      expect(weights.chunks.map((chunk) => chunk.rowStart)).toEqual([0, 7, 14, 21, 28, 35, 42]);
    } finally {
      weights.dispose();
    }
  });

  it("rejects invalid inputs", async () => {
    const f32 = new Uint8Array(4 * 64 * 16);
    expect(() => MatmulWeights.create(ctx, { type: GGMLType.Q4_1, bytes: new Uint8Array(20 * 16), n: 16, k: 32 })).toThrow(GPUUnsupportedError);
    expect(() => MatmulWeights.create(ctx, { type: GGMLType.Q8_0, bytes: new Uint8Array(34 * 16), n: 16, k: 48 })).toThrow(InvalidInputError);
    expect(() => MatmulWeights.create(ctx, { type: GGMLType.F32, bytes: f32, n: 17, k: 64 })).toThrow(/need 4352 bytes but 4096/);

    const weights = MatmulWeights.create(ctx, { type: GGMLType.F32, bytes: f32, n: 16, k: 64 });
    const x = ctx.createStorageBuffer("x", 9 * 64 * 4);
    const out = ctx.createStorageBuffer("y", 9 * 16 * 4);
    try {
      await expect(matmul(ctx, { x, weights, out, m: 9, kernel: "rows" })).rejects.toThrow(/at most 8 rows/);
      await expect(matmul(ctx, { x, weights, out, m: 10 })).rejects.toThrow(/x buffer "x" has 2304 bytes/);
      await expect(matmul(ctx, { x, weights, out, m: 0 })).rejects.toThrow(InvalidInputError);
      await expect(matmul(ctx, { x, weights, out, m: 9, kernel: "blocked", f16: true })).rejects.toThrow(/no f16 variant/);
    } finally {
      weights.dispose();
      ctx.destroyBuffer(x);
      ctx.destroyBuffer(out);
    }
  });
});
