// Whole-model parity of the WebGPU forward pass through the worker runtime in headless Chromium
// (SwiftShader): full-vocabulary log-probabilities against the float32 reference and llama.cpp,
// over llama.cpp's top-20 tokens. One browser runs every fixture.

import { beforeAll, describe, expect, it } from "vitest";

import { parityTarget, SHARED_TINY_MODEL } from "../src/oracle/parity-targets.js";
import {
  compareGPUScores,
  computeParityExpectations,
  failedWebGPUParityResult,
  type ParityExpectations,
  type WebGPUParityResult,
} from "../src/oracle/webgpu-parity.js";
import { chromiumUnavailableReason, scoreInChromium } from "./parity-page/chromium.js";

/**
 * The trained llama2.c model, an F32 model with the Qwen3 BPE vocabulary, a Q8_0 and a mixed
 * Q4_K/Q6_K model, and the shared tiny random model (F16). Computing one fixture's expected
 * values (llama.cpp and the CPU reference) took 9 to 25 s alone on two cores, so `npm run parity`
 * covers the other fixtures.
 */
const FIXTURES = ["stories260k", "qwen3-f32", "llama-q8_0", "qwen3-q4_k", SHARED_TINY_MODEL];

// Estimated from timing each step alone: about 3 minutes on an idle two-core machine. The limit
// leaves room for a machine that runs other test files at the same time.
const SETUP_TIMEOUT_MS = 900_000;

const chromiumMissing = chromiumUnavailableReason();
if (chromiumMissing) console.warn(`skipping WebGPU parity in Chromium: ${chromiumMissing}`);

describe.skipIf(chromiumMissing !== undefined)("WebGPU logits in Chromium worker", () => {
  const targets = FIXTURES.map(parityTarget);
  const results = new Map<string, WebGPUParityResult>();

  beforeAll(async () => {
    const available = targets.flatMap((target) => (target.unavailable === undefined ? [target] : []));
    const jobs: { path: string; expected: ParityExpectations }[] = [];
    for (const target of available) {
      const path = await target.path();
      jobs.push({ path, expected: await computeParityExpectations(target.name, path) });
    }

    const outcomes = await scoreInChromium(jobs.map(({ path, expected }) => ({ fixture: expected.fixture, path, cases: expected.cases })));
    outcomes.forEach((outcome, index) => {
      const { expected } = jobs[index]!;
      const result = "error" in outcome ? failedWebGPUParityResult(expected, "chromium-worker", outcome.error) : compareGPUScores(expected, "chromium-worker", outcome.scores);
      results.set(expected.fixture, result);
    });
  }, SETUP_TIMEOUT_MS);

  for (const target of targets) {
    if (target.unavailable !== undefined) {
      console.warn(`skipping WebGPU parity in Chromium for ${target.name}: ${target.unavailable}`);
      it.skip(`${target.name} (${target.unavailable})`, () => undefined);
      continue;
    }

    it(`${target.name} within bounds`, () => {
      const result = results.get(target.name);
      if (!result) throw new Error(`no Chromium result for ${target.name}; see the beforeAll error`);
      const label = `${result.fixture} in Chromium (${result.weightType}, bound ${result.bound})`;

      expect(result.error, `${label}: page error`).toBeUndefined();
      expect.soft(result.maxAbsDiffVsReference, `${label}: max |GPU - reference| log-prob`).toBeLessThanOrEqual(result.bound);
      expect.soft(result.maxAbsDiffVsReference, `${label}: the GPU matches the reference far inside the bound`).toBeLessThanOrEqual(1e-4);

      // With activations rounded as llama.cpp rounds them, the GPU must match llama.cpp too.
      expect.soft(result.top1Match, `${label}: top-1 equals the reference's, and with rounding llama.cpp's`).toBe(true);
      expect.soft(result.maxAbsDiffVsLlamaCpp, `${label}: max |GPU rounding like llama.cpp - llama.cpp| log-prob`).toBeLessThanOrEqual(result.bound);
    });
  }
});
