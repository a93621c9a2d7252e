// The WebGPU forward pass with llama.cpp's activation rounding against the reference doing the same.

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { InvalidInputError } from "../../src/errors.js";
import { ensureFixture } from "../../src/fixtures/registry.js";
import { GGUFFile } from "../../src/gguf/reader.js";
import type { GPUContext } from "../../src/gpu/context.js";
import { WebGPUModel } from "../../src/gpu/model.js";
import { openFileSource } from "../../src/io/node-file.js";
import { logSoftmax, ReferenceModel } from "../../src/reference/index.js";
import { openTestContext } from "../gpu/helpers.js";

const context: GPUContext | undefined = (await openTestContext()).ctx;

/** Max |a - b| over the `k` largest entries of `a`. */
function maxDiffOverTop(a: Float32Array, b: Float32Array, k: number): number {
  const top = Array.from(a.keys()).sort((i, j) => a[j]! - a[i]!).slice(0, k);
  return Math.max(...top.map((i) => Math.abs(a[i]! - b[i]!)));
}

describe.skipIf(!context)("activation rounding on the GPU", () => {
  let model: WebGPUModel;
  let rounded: ReferenceModel;
  const tokens = Array.from({ length: 12 }, (_, i) => 300 + 17 * i);

  beforeAll(async () => {
    const source = await openFileSource(await ensureFixture("demo-qwen3-q8_0"));
    const file = await GGUFFile.open(source);
    model = await WebGPUModel.load(file, { context: context! });
    rounded = await ReferenceModel.load(file, { activationRounding: "llama.cpp" });
    await source.close?.();
  });
  afterAll(() => {
    model?.dispose();
    context?.dispose();
  });

  it("matches the rounding reference", async () => {
    const expected = logSoftmax(rounded.forward(tokens).logits);
    const { logProbs } = await model.forward(tokens, { activationRounding: "llama.cpp" });
    const unrounded = await model.forward(tokens);

    // Rounding moves these log-probabilities by far more than it leaves between GPU and reference.
    const gap = maxDiffOverTop(expected, logProbs, 20);
    expect(gap).toBeLessThanOrEqual(3e-2);
    expect(maxDiffOverTop(expected, unrounded.logProbs, 20)).toBeGreaterThan(10 * gap);
  });

  it("rejects an unknown rounding", async () => {
    const options = { activationRounding: "q8" as "llama.cpp" };
    await expect(model.forward(tokens, options)).rejects.toThrow(InvalidInputError);
    await expect(model.forward(tokens, options)).rejects.toThrow(/activationRounding "q8" is invalid/);
  });
});
