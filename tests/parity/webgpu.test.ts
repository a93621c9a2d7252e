// Whole-model parity of the WebGPU forward pass in Node (Dawn): full-vocabulary log-probabilities
// against the float32 reference and llama.cpp, over llama.cpp's top-20 tokens, on every fixture.

import { afterAll, describe, expect, it } from "vitest";

import { GPUUnsupportedError } from "../../src/errors.js";
import { GGMLType } from "../../src/gguf/types.js";
import { logitsParityTargets } from "../../src/oracle/parity-targets.js";
import { GPU_WEIGHT_TYPES } from "../../src/runtime/weights-upload.js";
import {
  WEBGPU_F32_BOUND,
  compareGPUScores,
  computeParityExpectations,
  scoreWithDawn,
  type GPUCaseScores,
  type ParityExpectations,
  type WebGPUParityResult,
} from "../../src/oracle/webgpu-parity.js";
import { openTestContext } from "../gpu/helpers.js";

// One fixture runs llama.cpp, the reference twice and the GPU on four prompts. qwen3-q4_k took
// about a minute on SwiftShader with two cores, most of it in its Q6_K output matrix.
const FIXTURE_TIMEOUT_MS = 300_000;

const gpu = await openTestContext();

/**
 * Checks one result. With f32 activations the GPU must match the float32 reference far inside the
 * bound (this is what tests the kernels). With activations rounded as llama.cpp's CPU backend
 * rounds them (Q8_0 or Q8_K blocks before quantized products), it must match llama.cpp within the
 * bound, with the same top-1 token.
 */
function expectWithinBounds(result: WebGPUParityResult): void {
  const label = `${result.fixture} on ${result.backend} (${result.weightType}, bound ${result.bound})`;
  expect.soft(result.maxAbsDiffVsReference, `${label}: max |GPU - reference| log-prob`).toBeLessThanOrEqual(result.bound);
  expect.soft(result.maxAbsDiffVsReference, `${label}: the GPU matches the reference far inside the bound`).toBeLessThanOrEqual(1e-4);
  expect.soft(result.top1Match, `${label}: top-1 equals the reference's, and with rounding llama.cpp's`).toBe(true);
  expect.soft(result.maxAbsDiffVsLlamaCpp, `${label}: max |GPU rounding like llama.cpp - llama.cpp| log-prob`).toBeLessThanOrEqual(result.bound);
  expect.soft(result.maxAbsDiffVsRoundedReference, `${label}: max |GPU - reference|, both rounding like llama.cpp`).toBeLessThanOrEqual(result.bound);
  console.info(`${label}: |GPU f32 - llama.cpp| ${result.maxAbsDiffUnroundedVsLlamaCpp}, |GPU rounded - llama.cpp| ${result.maxAbsDiffVsLlamaCpp}`);
}

describe.skipIf(!gpu.ctx)("WebGPU logits vs reference and llama.cpp", () => {
  afterAll(() => gpu.ctx?.dispose());

  for (const target of logitsParityTargets()) {
    if (target.unavailable !== undefined) {
      console.warn(`skipping WebGPU parity for ${target.name}: ${target.unavailable}`);
      it.skip(`${target.name} (${target.unavailable})`, () => undefined);
      continue;
    }

    it(`${target.name} within bounds`, { timeout: FIXTURE_TIMEOUT_MS }, async () => {
      const path = await target.path();
      const expected = await computeParityExpectations(target.name, path);

      // BF16, Q4_1 and Q5_K have no GPU decoder: loading must fail with the typed error.
      if (!GPU_WEIGHT_TYPES.includes(GGMLType[expected.weightType as keyof typeof GGMLType])) {
        await expect(scoreWithDawn(gpu.ctx!, path, expected.cases)).rejects.toThrow(GPUUnsupportedError);
        return;
      }
      const scores = await scoreWithDawn(gpu.ctx!, path, expected.cases);
      expectWithinBounds(compareGPUScores(expected, "node-dawn", scores));
    });
  }
});

describe("compareGPUScores", () => {
  // Two prompts with three ids each. The reference and llama.cpp agree on the top-1 (id 5).
  const expected: ParityExpectations = {
    fixture: "synthetic",
    weightType: "F32",
    bound: WEBGPU_F32_BOUND,
    cases: [0, 1].map((prompt) => ({
      prompt: `prompt ${prompt}`,
      tokens: [1, 2, 3],
      ids: [5, 9, 2],
      llamaCpp: [-0.5, -1.5, -2.5],
      reference: [-0.5005, -1.5, -2.5],
      roundedReference: [-0.501, -1.5, -2.5],
      referenceTop1: 5,
    })),
  };
  // The f32 scores sit `delta` from the reference, the rounded ones `delta` from llama.cpp.
  const scores = (delta: number, top1 = 5): GPUCaseScores[] =>
    expected.cases.map((c) => ({
      logProbs: c.reference.map((value) => value + delta),
      top1,
      rounded: { logProbs: c.llamaCpp.map((value) => value + delta), top1 },
    }));

  it("passes scores within bound", () => {
    const result = compareGPUScores(expected, "node-dawn", scores(1e-3));
    expect(result.maxAbsDiffVsLlamaCpp).toBeCloseTo(1e-3, 9);
    expect(result.maxAbsDiffVsReference).toBeCloseTo(1e-3, 9);
    expect(result.maxAbsDiffVsRoundedReference).toBeCloseTo(2e-3, 9);
    expect(result.maxAbsDiffUnroundedVsLlamaCpp).toBeCloseTo(1e-3, 9);
    expect(result.maxAbsDiffRoundedReferenceVsLlamaCpp).toBeCloseTo(1e-3, 9);
    expect(result.passed).toBe(true);
  });

  it("fails scores past bound", () => {
    const result = compareGPUScores(expected, "node-dawn", scores(3e-3));
    expect(result.maxAbsDiffVsLlamaCpp).toBeCloseTo(3e-3, 9);
    expect(result.passed).toBe(false);
  });

  it("fails different top-1", () => {
    const result = compareGPUScores(expected, "node-dawn", scores(0, 9));
    expect(result.top1Match).toBe(false);
    expect(result.passed).toBe(false);
  });

  it("fails a rounded top-1 unlike llama.cpp's", () => {
    const mixed = scores(0).map((score) => ({ ...score, rounded: { ...score.rounded, top1: 9 } }));
    const result = compareGPUScores(expected, "node-dawn", mixed);
    expect(result.top1Match).toBe(false);
    expect(result.passed).toBe(false);
  });

  it("fails NaN scores", () => {
    const result = compareGPUScores(expected, "node-dawn", scores(Number.NaN));
    expect(result.maxAbsDiffVsLlamaCpp).toBe(Infinity);
    expect(result.passed).toBe(false);
  });

  it("rejects missing scores", () => {
    expect(() => compareGPUScores(expected, "node-dawn", scores(0).slice(1))).toThrow(/1 scores for 2 prompts/);
  });
});
