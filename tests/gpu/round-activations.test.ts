// The GPU's llama.cpp-style activation rounding against the float32 reference's.

import { afterAll, describe, expect, it } from "vitest";

import { GGMLType } from "../../src/gguf/types.js";
import { activationBlockFormat, roundActivationsDispatch, type ActivationBlockFormat } from "../../src/gpu/kernels/round-activations.js";
import { roundActivationsLikeLlamaCpp } from "../../src/reference/activation-rounding.js";
import { createRandom, openTestContext } from "./helpers.js";

const gpu = await openTestContext();

const WEIGHT_TYPE: Record<ActivationBlockFormat, GGMLType> = { q8_0: GGMLType.Q8_0, q8_k: GGMLType.Q4_K };
const BLOCK_SIZE: Record<ActivationBlockFormat, number> = { q8_0: 32, q8_k: 256 };

/**
 * Returns true when x * 127 / amax (or its Q8_K counterpart) lies so close to a rounding step that
 * a last-bit difference in the GPU's division may round it the other way.
 */
function nearStep(x: number, extreme: number, format: ActivationBlockFormat): boolean {
  const scaled = format === "q8_0" ? (x * 127) / Math.abs(extreme) : (-127 * x) / extreme;
  const fraction = scaled - Math.floor(scaled);
  return Math.abs(fraction - 0.5) < 1e-5 * Math.max(1, Math.abs(scaled));
}

describe.skipIf(!gpu.ctx)("round activations kernel", () => {
  const ctx = gpu.ctx!;
  afterAll(() => ctx.dispose());

  async function check(format: ActivationBlockFormat, rows: number, blocksPerRow: number, scale: number, seed: number): Promise<void> {
    const blockSize = BLOCK_SIZE[format];
    const cols = blocksPerRow * blockSize;
    const random = createRandom(seed);
    const x = random.normals(rows * cols, scale); // [rows, cols]
    x.fill(0, 0, blockSize); // one block of zeros
    x[blockSize + 3] = -40 * scale; // a block whose extreme value is negative

    const xBuffer = ctx.createStorageBuffer("x", x);
    const outBuffer = ctx.createStorageBuffer("out", new Float32Array(x.length));
    await ctx.run([roundActivationsDispatch({ x: xBuffer, out: outBuffer, rows, cols, format })]);
    const actual = await ctx.readFloat32(outBuffer, 0, x.length);
    const expected = roundActivationsLikeLlamaCpp(x, cols, WEIGHT_TYPE[format]);

    // Every value must match to 2 float32 ulps: WGSL division may miss the correctly rounded
    // quotient by that much, which moves the Q8_K scale 1 / s. A value that lies at a rounding step
    // may move one whole step.
    let atStep = 0;
    for (let block = 0; block < x.length / blockSize; block++) {
      const start = block * blockSize;
      let extreme = 0;
      for (let i = start; i < start + blockSize; i++) if (Math.abs(x[i]!) > Math.abs(extreme)) extreme = x[i]!;
      const step = Math.abs(extreme) / 127;

      for (let i = start; i < start + blockSize; i++) {
        if (Math.abs(actual[i]! - expected[i]!) <= 2.4e-7 * Math.abs(expected[i]!)) continue;
        const context = `${format} rows ${rows} cols ${cols} scale ${scale} seed ${seed}: element ${i} x ${x[i]} expected ${expected[i]} actual ${actual[i]}`;
        expect(nearStep(x[i]!, extreme, format), context).toBe(true);
        expect(Math.abs(actual[i]! - expected[i]!), context).toBeLessThanOrEqual(step * 1.01);
        atStep++;
      }
    }
    expect(atStep, `${format}: values moved by a step`).toBeLessThanOrEqual(x.length / 1000);
  }

  it("rounds Q8_0 blocks on a fixed case", async () => {
    await check("q8_0", 3, 4, 1, 1);
  });

  it("rounds Q8_K blocks on a fixed case", async () => {
    await check("q8_k", 3, 2, 1, 2);
  });

  it("rounds random shapes and scales", async () => {
    const random = createRandom(9);
    for (let i = 0; i < 6; i++) {
      const format: ActivationBlockFormat = i % 2 === 0 ? "q8_0" : "q8_k";
      // Scales from 1e-6 (f16 subnormal Q8_0 scales) to 1e3.
      const scale = 10 ** random.int(-6, 3);
      await check(format, random.int(1, 70), random.int(2, 5), scale, 100 + i);
    }
  });

  it.each(["q8_0", "q8_k"] as const)("handles edge blocks in %s", async (format) => {
    const blockSize = BLOCK_SIZE[format];
    const blocks: [string, (i: number) => number, "nan" | "zero"][] = [
      ["a NaN", (i) => (i === 5 ? Number.NaN : i / 7), "nan"],
      ["an infinity", (i) => (i === 2 ? -Infinity : 1), "nan"],
      ["values below the smallest f16 scale", (i) => (i % 3) * 1e-40, "zero"],
      ...(format === "q8_0" ? [["a scale past the f16 range", (i: number) => (i === 0 ? 1e7 : i), "nan"] as [string, (i: number) => number, "nan"]] : []),
    ];
    const x = new Float32Array(blocks.length * blockSize); // [1, blocks * blockSize]
    blocks.forEach(([, value], block) => {
      for (let i = 0; i < blockSize; i++) x[block * blockSize + i] = value(i);
    });

    const xBuffer = ctx.createStorageBuffer("x", x);
    const outBuffer = ctx.createStorageBuffer("out", new Float32Array(x.length));
    await ctx.run([roundActivationsDispatch({ x: xBuffer, out: outBuffer, rows: 1, cols: x.length, format })]);
    const actual = await ctx.readFloat32(outBuffer, 0, x.length);
    const expected = roundActivationsLikeLlamaCpp(x, x.length, WEIGHT_TYPE[format]);

    blocks.forEach(([label, , outcome], block) => {
      const slice = (values: Float32Array) => Array.from(values.subarray(block * blockSize, (block + 1) * blockSize));
      const want = outcome === "nan" ? Number.NaN : 0;
      expect(slice(actual).every((value) => Object.is(value, want) || (want === 0 && value === 0)), `GPU, block with ${label}`).toBe(true);
      expect(slice(expected).every((value) => Object.is(value, want) || (want === 0 && value === 0)), `reference, block with ${label}`).toBe(true);
    });
  });

  it("maps weight types to block formats", () => {
    expect(activationBlockFormat(GGMLType.Q4_0)).toBe("q8_0");
    expect(activationBlockFormat(GGMLType.Q8_0)).toBe("q8_0");
    expect(activationBlockFormat(GGMLType.Q6_K)).toBe("q8_k");
    expect(activationBlockFormat(GGMLType.F32)).toBeUndefined();
  });

  it("rejects a row length that is not a multiple of the block", () => {
    const buffer = ctx.createStorageBuffer("x", new Float32Array(48));
    const out = ctx.createStorageBuffer("out", new Float32Array(48));
    expect(() => roundActivationsDispatch({ x: buffer, out, rows: 1, cols: 48, format: "q8_0" })).toThrow(/multiple of the q8_0 block size 32/);
  });
});
