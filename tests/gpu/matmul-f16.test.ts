// The f16 variant of the tiled matmul kernel. It needs the shader-f16 feature, which SwiftShader
// lacks. This file therefore prefers Mesa's lavapipe driver when VK_ICD_FILENAMES is unset and
// lavapipe is installed. Mesa 25 (Debian bookworm-backports) offers shader-f16 through Dawn.

import { existsSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { GPUUnsupportedError } from "../../src/errors.js";
import { GGMLType, ggmlTypeName } from "../../src/gguf/types.js";
import { MatmulWeights, matmul, matmulPipelineKey } from "../../src/gpu/kernels/matmul.js";
import { MATMUL_WEIGHT_TYPES } from "../../src/gpu/repack.js";
import { createRandom, openTestContext } from "./helpers.js";
import { checkMatmulCase, randomK } from "./matmul-check.js";

// Mesa 25 names the file lvp_icd.json, Mesa 22 lvp_icd.x86_64.json.
const LAVAPIPE_ICDS = ["/usr/share/vulkan/icd.d/lvp_icd.json", "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json"];

const lavapipe = LAVAPIPE_ICDS.find((path) => existsSync(path));
if (process.env.VK_ICD_FILENAMES === undefined && lavapipe !== undefined) process.env.VK_ICD_FILENAMES = lavapipe;

const gpu = await openTestContext();
const hasF16 = gpu.ctx?.features.shaderF16 === true;
if (gpu.ctx && !hasF16) {
  console.warn(
    `matmul f16 tests skipped: the WebGPU adapter (VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES ?? "unset"}) has no shader-f16; ` +
      "install Mesa 25 lavapipe (mesa-vulkan-drivers from bookworm-backports) to run them",
  );
}

describe.skipIf(!gpu.ctx)("matmul f16 availability", () => {
  afterAll(() => {
    if (!hasF16) gpu.ctx?.dispose();
  });

  it.skipIf(hasF16)("rejects f16 without shader-f16", async () => {
    const ctx = gpu.ctx!;
    const weights = MatmulWeights.create(ctx, { type: GGMLType.F32, bytes: new Uint8Array(4 * 8 * 8), n: 8, k: 8 });
    const x = ctx.createStorageBuffer("x", 9 * 8 * 4);
    const out = ctx.createStorageBuffer("y", 9 * 8 * 4);
    await expect(matmul(ctx, { x, weights, out, m: 9, f16: true })).rejects.toThrow(GPUUnsupportedError);
  });
});

describe.skipIf(!hasF16)("matmul f16 weight tiles", () => {
  const ctx = gpu.ctx!;
  afterAll(() => ctx.dispose());

  for (const type of MATMUL_WEIGHT_TYPES) {
    it(`tiled f16 on random ${ggmlTypeName(type)} shapes`, async () => {
      const random = createRandom(3000 + type);
      for (let i = 0; i < 2; i++) {
        const m = random.int(9, 70);
        await checkMatmulCase(ctx, { type, kernel: "tiled", m, n: random.int(1, 150), k: randomK(random, type), seed: 30 * type + i, bias: i === 1, f16: true });
      }
    });
  }

  it("f16 default by weight type", () => {
    const bytes = new Uint8Array(34 * 2 * 8);
    const quantized = MatmulWeights.create(ctx, { type: GGMLType.Q8_0, bytes, n: 8, k: 64 });
    const f32 = MatmulWeights.create(ctx, { type: GGMLType.F32, bytes: new Uint8Array(4 * 64 * 8), n: 8, k: 64 });
    const buffers = { x: quantized.chunks[0]!.buffer, out: quantized.chunks[0]!.buffer, m: 16 };
    try {
      expect(matmulPipelineKey(ctx, { ...buffers, weights: quantized }, "tiled").defines).toContain("F16");
      expect(matmulPipelineKey(ctx, { ...buffers, weights: quantized, f16: false }, "tiled").defines).not.toContain("F16");
      expect(matmulPipelineKey(ctx, { ...buffers, weights: f32 }, "tiled").defines).not.toContain("F16");
    } finally {
      quantized.dispose();
      f32.dispose();
    }
  });

  it("tiled f16 on split weights", async () => {
    await checkMatmulCase(ctx, { type: GGMLType.Q4_K, kernel: "tiled", m: 20, n: 50, k: 512, seed: 8, f16: true, maxChunkBytes: 4000 });
  });
});
