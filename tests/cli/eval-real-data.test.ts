// `tokenjudge eval` over the first 200 rows of two real labeled data sets (Davidson tweets for
// toxicity, HaluEval general for hallucination) on the shared tiny Llama 2 model and the
// converted stories260K model. Each run has built-in metrics plus copies of them with fixture
// adapters in both file formats and both modes, on the CPU and on WebGPU, and the two backends
// must reach the same verdicts.
//
// Measured run time of this file with the default 24 WebGPU rows: 8 minutes on two cores (load
// average 2 to 4), WebGPU on SwiftShader. The tiny model takes under a minute. stories260K has a
// byte-level vocabulary, so its prompts are 150 to 512 tokens: its CPU runs take 130 s (Davidson)
// and 150 s (HaluEval) for 200 rows, and WebGPU takes 2.8 s and 4 s per row. So
// TOKENJUDGE_EVAL_WEBGPU_ROWS=200, which compares every row on WebGPU too, takes about 30 minutes.

import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { PEFT_WEIGHTS_FILE } from "../../src/adapters/load.js";
import { sha256Hex } from "../../src/adapters/sha256.js";
import type { EvalOutputLine } from "../../src/cli/eval.js";
import { ensureFixture, fixtureUnavailableReason } from "../../src/fixtures/registry.js";
import { BUILTIN_METRICS } from "../../src/metrics/builtins.js";
import type { MetricAdapter, MetricDefinition } from "../../src/metrics/definition.js";
import { writeFixtureAdapters, type FixtureAdapterSpec } from "../../src/oracle/adapter-folder.js";
import { modelConfigOf, parseLines, tokenjudge } from "./eval-helpers.js";

const SHARED = join(import.meta.dirname, "../../../shared");
const TINY = join(SHARED, "models/llama-2-tiny-random/llama-2-tiny-random.gguf");
const DAVIDSON = join(SHARED, "data/davidson/labeled_data.csv");
const HALUEVAL = join(SHARED, "data/halueval/general_data.json");
const ROWS = 200;
const WEBGPU_ROWS = Number(process.env.TOKENJUDGE_EVAL_WEBGPU_ROWS ?? 24);
if (!Number.isInteger(WEBGPU_ROWS) || WEBGPU_ROWS < 1 || WEBGPU_ROWS > ROWS) {
  throw new Error(`TOKENJUDGE_EVAL_WEBGPU_ROWS is "${process.env.TOKENJUDGE_EVAL_WEBGPU_ROWS}"; set an integer from 1 to ${ROWS}, or unset it for 24`);
}
/** Time limit of one data set case: 30 minutes for the CPU run over ROWS rows plus 15 s per WebGPU row. */
const CASE_TIMEOUT_MS = (30 + WEBGPU_ROWS * 0.25) * 60_000;

/** Largest probability difference between the CPU reference and WebGPU that the test accepts. */
const BACKEND_PROBABILITY_TOLERANCE = 2e-3;
/**
 * Median score change an adapter must cause, far above float32 rounding (about 1e-7). The rank-4
 * fixture adapters moved scores by a median of 9e-5 to 2e-2 on these models.
 */
const ADAPTER_EFFECT = 1e-5;
/** A score this close to a threshold may land on either side on the two backends; such rows are counted, not failed. */
const THRESHOLD_MARGIN = 1e-4;

const sharedMissing = [TINY, DAVIDSON, HALUEVAL].filter((path) => !existsSync(path));
if (sharedMissing.length > 0) console.warn(`skipping the real-data eval tests: missing ${sharedMissing.join(", ")}`);

/** One data set run: the built-in metrics it uses and the adapted copies added to them. */
interface DatasetCase {
  dataset: "davidson" | "halueval";
  input: string;
  builtins: string[];
  /** Adapted copies of a built-in: [built-in id, file format, mode]. */
  adapted: [string, FixtureAdapterSpec["format"], MetricAdapter["mode"]][];
}

const CASES: DatasetCase[] = [
  {
    dataset: "davidson",
    input: DAVIDSON,
    builtins: ["toxicity", "prompt-injection"],
    adapted: [
      ["toxicity", "gguf", "activated"],
      ["toxicity", "peft", "classic"],
    ],
  },
  {
    dataset: "halueval",
    input: HALUEVAL,
    builtins: ["hallucination"],
    adapted: [
      ["hallucination", "peft", "activated"],
      ["hallucination", "gguf", "classic"],
    ],
  },
];

let workDir = "";

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), "tokenjudge-eval-real-"));
});

afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

/**
 * Writes one metric JSON file per adapted copy, each pointing at a fixture adapter in the same
 * folder by a relative path, and returns the `--metrics` list.
 */
async function writeMetricFiles(modelPath: string, folder: string, testCase: DatasetCase): Promise<string> {
  const specs = testCase.adapted.map(([base, format, mode]) => ({ metric: `${base}-${mode}-${format}`, format }));
  const paths = await writeFixtureAdapters(await modelConfigOf(modelPath), folder, `real-data/${testCase.dataset}`, specs);

  const entries = [...testCase.builtins];
  for (const [base, format, mode] of testCase.adapted) {
    const id = `${base}-${mode}-${format}`;
    const weights = format === "gguf" ? paths[id]! : join(paths[id]!, PEFT_WEIGHTS_FILE);
    const adapter: MetricAdapter = { file: format === "gguf" ? `${id}.gguf` : id, sha256: await sha256Hex(await readFile(weights)), mode, format };
    const definition: MetricDefinition = { ...BUILTIN_METRICS[base]!, id, adapter };
    const metricPath = join(folder, `${id}.json`);
    await writeFile(metricPath, JSON.stringify(definition, null, 2));
    entries.push(metricPath);
  }
  return entries.join(",");
}

/** Checks the shape of one run's output: `rows` lines, in order, with every metric's probabilities. */
function checkLines(lines: EvalOutputLine[], metricIds: string[], rows: number): void {
  expect(lines.length).toBe(rows);
  expect(lines.map((line) => line.row)).toEqual(Array.from({ length: rows }, (_, i) => i + 1));
  for (const line of lines) {
    expect(line.label).toBeDefined();
    expect(line.results.map((result) => result.metric)).toEqual(metricIds);
    for (const result of line.results) {
      const total = Object.values(result.probabilities).reduce((sum, p) => sum + p, 0);
      expect(Math.abs(total - 1), `row ${line.row} ${result.metric} probabilities sum to ${total}`).toBeLessThan(1e-6);
    }
  }
}

/** Returns, for every row, the absolute difference between the scores of metric `a` and metric `b`. */
function scoreDifferences(lines: EvalOutputLine[], a: string, b: string): number[] {
  return lines.map((line) => {
    const first = line.results.find((result) => result.metric === a)!;
    const second = line.results.find((result) => result.metric === b)!;
    return Math.abs(first.score - second.score);
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Formats the median and max of `values` for a log line. */
function summarize(values: number[]): string {
  return `median ${median(values).toExponential(2)}, max ${Math.max(...values).toExponential(2)}`;
}

const MODELS: { name: string; path: () => Promise<string>; unavailable: string | undefined }[] = [
  { name: "llama-2-tiny-random", path: async () => TINY, unavailable: existsSync(TINY) ? undefined : `${TINY} is missing` },
  { name: "stories260k", path: () => ensureFixture("stories260k"), unavailable: fixtureUnavailableReason("stories260k") },
];

describe.skipIf(sharedMissing.length > 0)("tokenjudge eval on real data", () => {
  for (const model of MODELS) {
    describe(model.name, () => {
      for (const testCase of CASES) {
        it(`${testCase.dataset}: CPU and WebGPU agree`, async (context) => {
          if (model.unavailable !== undefined) {
            console.warn(`skipping ${model.name}: ${model.unavailable}`);
            context.skip();
          }
          const modelPath = await model.path();

          const folder = join(workDir, model.name, testCase.dataset);
          const metrics = await writeMetricFiles(modelPath, folder, testCase);
          const metricIds = [...testCase.builtins, ...testCase.adapted.map(([base, format, mode]) => `${base}-${mode}-${format}`)];
          const args = ["eval", "--model", modelPath, "--input", testCase.input, "--dataset", testCase.dataset, "--metrics", metrics, "--json"];

          // CPU: every row, every metric. Each adapter moves the scores of its base metric, and the
          // two modes differ from each other, by far more than rounding on a typical row.
          let started = performance.now();
          const cpu = await tokenjudge(...args, "--limit", String(ROWS), "--backend", "cpu");
          const cpuSeconds = (performance.now() - started) / 1000;
          expect(cpu.code, cpu.stderr).toBe(0);
          const cpuLines = parseLines(cpu.stdout);
          checkLines(cpuLines, metricIds, ROWS);
          const base = testCase.adapted[0]![0];
          const [activatedId, classicId] = metricIds.slice(testCase.builtins.length);
          for (const [a, b] of [[base, activatedId!], [base, classicId!], [activatedId!, classicId!]] as const) {
            const differences = scoreDifferences(cpuLines, a, b);
            console.info(`${model.name} ${testCase.dataset}: |score ${a} - score ${b}| ${summarize(differences)}`);
            expect(median(differences), `${a} vs ${b}: median score difference`).toBeGreaterThan(ADAPTER_EFFECT);
          }

          // WebGPU: the same verdicts, except rows whose CPU score sits on a decision threshold.
          started = performance.now();
          const gpu = await tokenjudge(...args, "--limit", String(WEBGPU_ROWS), "--backend", "webgpu");
          const gpuSeconds = (performance.now() - started) / 1000;
          expect(gpu.code, gpu.stderr).toBe(0);
          const gpuLines = parseLines(gpu.stdout);
          checkLines(gpuLines, metricIds, WEBGPU_ROWS);

          let maxDiff = 0;
          let nearThreshold = 0;
          const disagreements: string[] = [];
          for (const [index, cpuLine] of cpuLines.slice(0, WEBGPU_ROWS).entries()) {
            for (const [m, cpuResult] of cpuLine.results.entries()) {
              const gpuResult = gpuLines[index]!.results[m]!;
              for (const [name, p] of Object.entries(cpuResult.probabilities)) maxDiff = Math.max(maxDiff, Math.abs(p - gpuResult.probabilities[name]!));
              if (cpuResult.verdict === gpuResult.verdict) continue;
              if (Math.abs(cpuResult.score - 0.5) < THRESHOLD_MARGIN) nearThreshold++;
              else disagreements.push(`row ${cpuLine.row} ${cpuResult.metric}: cpu ${cpuResult.verdict} ${cpuResult.score}, webgpu ${gpuResult.verdict} ${gpuResult.score}`);
            }
          }
          console.info(
            `${model.name} ${testCase.dataset}: CPU ${ROWS} rows in ${cpuSeconds.toFixed(0)} s, WebGPU ${WEBGPU_ROWS} rows in ${gpuSeconds.toFixed(0)} s, ` +
              `max |p_cpu - p_webgpu| ${maxDiff.toExponential(2)}, ${nearThreshold} verdicts on a threshold`,
          );
          expect(disagreements).toEqual([]);
          expect(maxDiff).toBeLessThan(BACKEND_PROBABILITY_TOLERANCE);
        }, CASE_TIMEOUT_MS);
      }

      it("--adapters matches the same adapter named in a metric file", async (context) => {
        if (model.unavailable !== undefined) {
          console.warn(`skipping the --adapters check on ${model.name}: ${model.unavailable}`);
          context.skip();
        }
        const modelPath = await model.path();
        const folder = join(workDir, model.name, "adapters-folder");
        const testCase = CASES[0]!;
        const metrics = await writeMetricFiles(modelPath, folder, testCase);
        await copyFile(join(folder, "toxicity-activated-gguf.gguf"), join(folder, "toxicity.gguf"));

        const args = ["eval", "--model", modelPath, "--input", DAVIDSON, "--dataset", "davidson", "--limit", "20", "--json"];
        const fromFolder = parseLines((await tokenjudge(...args, "--metrics", "toxicity", "--adapters", folder)).stdout);
        const fromFile = parseLines((await tokenjudge(...args, "--metrics", metrics)).stdout);

        expect(fromFolder.length).toBe(20);
        for (const [index, line] of fromFolder.entries()) {
          const expected = fromFile[index]!.results.find((result) => result.metric === "toxicity-activated-gguf")!;
          expect(line.results[0]!.probabilities).toEqual(expected.probabilities);
        }
      }, 600_000);
    });
  }
});
