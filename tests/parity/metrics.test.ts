// Metric-level parity: metrics evaluated together versus alone, a classic adapter versus the
// reference on merged weights, and versus llama.cpp with the same adapter file, on the CPU and on
// WebGPU (Dawn in Node, SwiftShader when no GPU driver is set).

import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";

import { WebGPUUnavailableError } from "../../src/gpu/device.js";
import { compareMetricsParity, type MetricsParityBackend } from "../../src/oracle/metrics-parity.js";
import { parityTarget } from "../../src/oracle/parity-targets.js";

const SWIFTSHADER_ICD = "/usr/lib/chromium/vk_swiftshader_icd.json";
if (process.env.VK_ICD_FILENAMES === undefined && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;

const CASES: { model: string; backend: MetricsParityBackend }[] = [
  { model: "llama-2-tiny-random", backend: "cpu" },
  { model: "llama-f32", backend: "cpu" },
  { model: "llama-2-tiny-random", backend: "webgpu" },
];

describe("metric probabilities parity", () => {
  for (const { model, backend } of CASES) {
    const target = parityTarget(model);
    if (target.unavailable !== undefined) {
      console.warn(`skipping metrics parity for ${model}: ${target.unavailable}`);
      it.skip(`${model} ${backend} (${target.unavailable})`, () => undefined);
      continue;
    }

    it(`${model} on ${backend}`, async (context) => {
      let result;
      try {
        result = await compareMetricsParity(model, await target.path(), backend);
      } catch (error) {
        if (!(error instanceof WebGPUUnavailableError)) throw error;
        console.warn(`skipping metrics parity for ${model} on WebGPU: ${error.message}`);
        context.skip();
        return;
      }

      expect(result.metrics).toBe(6);
      expect(result.togetherVsAlone, "max |p(together) - p(alone)|").toBeLessThanOrEqual(result.tolerances.together);
      expect(result.classicVsMerged, "max |p(classic) - p(merged reference)|").toBeLessThanOrEqual(result.tolerances.merged);
      expect(result.classicVsLlamaCpp, "max |p(classic) - p(llama.cpp)|").toBeLessThanOrEqual(result.tolerances.llamaCpp);
      expect(result.passed).toBe(true);
    }, 300_000);
  }
});
