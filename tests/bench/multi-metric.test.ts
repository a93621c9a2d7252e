// The multi-metric measurement on the shared tiny Llama 2 model: its options, what each backend
// measured, and the report table. It checks what was measured, never how fast.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import { createBenchContext } from "../../src/bench/backend-webgpu.js";
import { benchMetrics, extractMultiMetricArgs, MULTI_METRIC_CONTENT_TOKENS, multiMetricTable, resolveMultiMetricModel, runMultiMetricBench } from "../../src/bench/multi-metric.js";
import { renderTable } from "../../src/bench/report.js";
import { InvalidInputError } from "../../src/errors.js";
import { ensureFixture, fixtureUnavailableReason } from "../../src/fixtures/registry.js";
import type { GPUContext } from "../../src/gpu/context.js";

const TINY = join(import.meta.dirname, "../../../shared/models/llama-2-tiny-random/llama-2-tiny-random.gguf");

describe("extractMultiMetricArgs", () => {
  it("returns the default counts and the other arguments", () => {
    expect(extractMultiMetricArgs(["--quick", "--no-write"])).toEqual({ counts: [1, 4, 16, 64], only: false, rest: ["--quick", "--no-write"] });
  });

  it("reads a list and none", () => {
    expect(extractMultiMetricArgs(["--metric-counts", "8,2,2", "--json"])).toEqual({ counts: [2, 8], only: false, rest: ["--json"] });
    expect(extractMultiMetricArgs(["--metric-counts", "none"]).counts).toBeUndefined();
  });

  it("reads --multi-metric-only", () => {
    expect(extractMultiMetricArgs(["--models", "q8_0", "--multi-metric-only"])).toEqual({ counts: [1, 4, 16, 64], only: true, rest: ["--models", "q8_0"] });
  });

  it("reads --multi-metric-model", () => {
    expect(extractMultiMetricArgs(["--multi-metric-model", "stories260k", "--quick"])).toEqual({ counts: [1, 4, 16, 64], only: false, model: "stories260k", rest: ["--quick"] });
    expect(() => extractMultiMetricArgs(["--multi-metric-model", "--quick"])).toThrow(InvalidInputError);
  });

  it("rejects a bad list", () => {
    expect(() => extractMultiMetricArgs(["--metric-counts", "0,4"])).toThrow(InvalidInputError);
    expect(() => extractMultiMetricArgs(["--metric-counts"])).toThrow(InvalidInputError);
    expect(() => extractMultiMetricArgs(["--multi-metric-only", "--metric-counts", "none"])).toThrow(InvalidInputError);
  });
});

describe("resolveMultiMetricModel", () => {
  const missing = fixtureUnavailableReason("llama-f32");
  if (missing) console.warn(`skipping the fixture case of resolveMultiMetricModel: ${missing}`);

  it.skipIf(missing !== undefined)("names a fixture and its embedding type", async () => {
    const model = await resolveMultiMetricModel("llama-f32");
    expect(model).toEqual({ label: "llama-f32", quant: "F32", path: await ensureFixture("llama-f32") });
  });

  it.skipIf(!existsSync(TINY))("takes a .gguf path", async () => {
    const model = await resolveMultiMetricModel(TINY);
    expect(model.label).toBe("llama-2-tiny-random");
    expect(model.path).toBe(TINY);
  });

  it("rejects a name that is neither", async () => {
    await expect(resolveMultiMetricModel("no-such-model")).rejects.toThrow(/neither a fixture/);
  });
});

describe("benchMetrics", () => {
  it("gives each metric its own id and question", () => {
    const metrics = benchMetrics(10);
    expect(new Set(metrics.map((metric) => metric.id)).size).toBe(10);
    expect(new Set(metrics.map((metric) => metric.template.suffix)).size).toBe(10);
    expect(new Set(metrics.map((metric) => metric.template.content)).size).toBe(1);
  });
});

describe.skipIf(!existsSync(TINY))("runMultiMetricBench on the tiny model", () => {
  if (!existsSync(TINY)) console.warn(`skipping the multi-metric bench test: ${TINY} is missing`);

  it("measures every backend and fills the table", async () => {
    let context: GPUContext | undefined;
    try {
      context = await createBenchContext();
    } catch (error) {
      console.warn(`multi-metric bench test without WebGPU: ${(error as Error).message}`);
    }

    try {
      const results = await runMultiMetricBench({
        model: { label: "llama-2-tiny-random", quant: "F16", path: TINY },
        backends: ["webgpu", "llamacpp", "reference"],
        counts: [1, 4],
        referenceMaxTokens: 1024,
        runs: { warmup: 0, runs: 1 },
        seed: 1,
        context,
      });

      expect(results.contentTokens).toBeGreaterThanOrEqual(MULTI_METRIC_CONTENT_TOKENS);
      expect(results.contentTokens).toBeLessThan(MULTI_METRIC_CONTENT_TOKENS + 16);
      const judgeBackends = context === undefined ? ["reference"] : ["webgpu", "reference"];
      for (const backend of judgeBackends) {
        for (const count of [1, 4]) {
          for (const mode of ["batched", "separate"]) {
            const entry = results.measurements.find((m) => m.backend === backend && m.metrics === count && m.mode === mode);
            expect(entry, `${backend} ${count} ${mode}`).toBeDefined();
            expect(entry!.medianMs).toBeGreaterThan(0);
          }
        }
      }
      expect(results.measurements.filter((m) => m.backend === "llamacpp").map((m) => m.metrics)).toEqual([1, 4]);

      const table = multiMetricTable(results);
      expect(table.rows.length).toBe(judgeBackends.length * 2);
      for (const row of table.rows) {
        expect(row[6]).toMatch(/^\d+\.\d\dx$/);
        expect(row[8]).toMatch(/^\d+\.\d\dx$/);
      }
      expect(renderTable(table)).toContain("separate / batched");
    } finally {
      context?.dispose();
    }
  }, 300_000);

  it("skips the CPU Judge above the reference limit", async () => {
    const results = await runMultiMetricBench({
      model: { label: "llama-2-tiny-random", quant: "F16", path: TINY },
      backends: ["reference"],
      counts: [1],
      referenceMaxTokens: 64,
      runs: { warmup: 0, runs: 1 },
      seed: 1,
    });
    expect(results.measurements).toEqual([]);
    expect(results.skipped[0]).toContain("longer than the reference limit of 64 tokens");
  });
});
