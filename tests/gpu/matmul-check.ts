// Runs one matmul case on the GPU and compares it with the plain-loop reference. Shared by
// matmul.test.ts and matmul-f16.test.ts.

import { quantize } from "../../src/gguf/quant.js";
import { GGMLType, ggmlTypeName } from "../../src/gguf/types.js";
import type { GPUContext } from "../../src/gpu/context.js";
import { MatmulWeights, matmul, type MatmulKernel } from "../../src/gpu/kernels/matmul.js";
import { matmulReference } from "../../src/gpu/reference/matmul.js";
import type { MatmulWeightType } from "../../src/gpu/repack.js";
import { createRandom, expectClose, type Random } from "./helpers.js";
import { TOLERANCES, type Tolerance } from "./tolerances.js";

/** One matmul case; every field is printed when the comparison fails. */
export interface MatmulCase {
  type: MatmulWeightType;
  kernel: MatmulKernel;
  m: number;
  n: number;
  k: number;
  seed: number;
  bias?: boolean;
  subgroups?: boolean;
  f16?: boolean;
  maxChunkBytes?: number;
}

/** Elements per block: K must be a multiple of it. */
export function blockSize(type: MatmulWeightType): number {
  if (type === GGMLType.F32 || type === GGMLType.F16) return 1;
  return type === GGMLType.Q4_K || type === GGMLType.Q6_K ? 256 : 32;
}

/** Random K for `type`: any length for F32 and F16 (so not always a multiple of 8), whole blocks otherwise. */
export function randomK(random: Random, type: MatmulWeightType): number {
  const block = blockSize(type);
  if (block === 1) return random.int(1, 300);
  return block * random.int(1, block === 32 ? 12 : 2);
}

/** Multiplies seeded random x [m, k] by quantized random W [n, k] on the GPU and checks the result. */
export async function checkMatmulCase(ctx: GPUContext, c: MatmulCase): Promise<void> {
  const random = createRandom(c.seed);
  const x = random.floats(c.m * c.k); // [m, k]
  const weightValues = random.normals(c.n * c.k, 0.5); // [n, k]
  const weightBytes = quantize(c.type, weightValues);
  const bias = c.bias ? random.floats(c.n) : undefined; // [n]

  const weights = MatmulWeights.create(ctx, {
    type: c.type,
    bytes: weightBytes,
    n: c.n,
    k: c.k,
    label: `W ${ggmlTypeName(c.type)}`,
    ...(c.maxChunkBytes === undefined ? {} : { maxChunkBytes: c.maxChunkBytes }),
  });
  const xBuffer = ctx.createStorageBuffer("x", x);
  const outBuffer = ctx.createStorageBuffer("y", c.m * c.n * 4);
  const biasBuffer = bias ? ctx.createStorageBuffer("bias", bias) : undefined;

  try {
    await matmul(ctx, {
      x: xBuffer,
      weights,
      out: outBuffer,
      m: c.m,
      kernel: c.kernel,
      ...(biasBuffer ? { bias: biasBuffer } : {}),
      ...(c.subgroups === undefined ? {} : { subgroups: c.subgroups }),
      f16: c.f16 === true,
    });
    const actual = await ctx.readFloat32(outBuffer, 0, c.m * c.n);

    const roundWeightsToF16 = c.f16 === true;
    const expected = matmulReference({ x, weightBytes, type: c.type, m: c.m, n: c.n, k: c.k, roundWeightsToF16, ...(bias ? { bias } : {}) });
    let tolerance: Tolerance = c.type === GGMLType.F32 ? TOLERANCES.matmul : TOLERANCES.matmulQuantized;
    if (roundWeightsToF16) tolerance = TOLERANCES.matmulF16Weights;
    expectClose(actual, expected, tolerance, { ...c, type: ggmlTypeName(c.type), chunks: weights.chunks.length });
  } finally {
    weights.dispose();
    ctx.destroyBuffer(xBuffer);
    ctx.destroyBuffer(outBuffer);
    if (biasBuffer) ctx.destroyBuffer(biasBuffer);
  }
}
