// `tokenjudge eval` over the first 200 rows of two real labeled data sets (Davidson tweets for
// toxicity, HaluEval general for hallucination) on the shared tiny Llama 2 model and the
// converted stories260K model. Each run has built-in metrics plus copies of them with fixture
// adapters in both file formats and both modes, on the CPU and on WebGPU, and the two backends
// must reach the same verdicts. WebGPU in Node on a software Vulkan driver (SwiftShader) takes
// about 0.5 s (Davidson) to 1.5 s (HaluEval) per row on two cores, so by default it runs the first
// 24 rows; TOKENJUDGE_EVAL_WEBGPU_ROWS=200 compares all of them (about 7 minutes).

import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { PEFT_WEIGHTS_FILE } from "../../src/adapters/load.js";
import { sha256Hex } from "../../src/adapters/sha256.js";
import type { EvalOutputLine } from "../../src/cli/eval.js";
import { LabelTokenError } from "../../src/errors.js";
import { ensureFixture, fixtureUnavailableReason } from "../../src/fixtures/registry.js";
import { GGUFFile } from "../../src/gguf/reader.js";
import { openFileSource } from "../../src/io/node-file.js";
import { BUILTIN_METRICS } from "../../src/metrics/builtins.js";
import type { MetricAdapter, MetricDefinition } from "../../src/metrics/definition.js";
import { resolveLabelTokens } from "../../src/metrics/labels.js";
import { writeFixtureAdapters, type FixtureAdapterSpec } from "../../src/oracle/adapter-folder.js";
import { Tokenizer } from "../../src/tokenizer/index.js";
import { modelConfigOf, parseLines, tokenjudge } from "./eval-helpers.js";

const SHARED = join(import.meta.dirname, "../../../shared");
const TINY = join(SHARED, "models/llama-2-tiny-random/llama-2-tiny-random.gguf");
const DAVIDSON = join(SHARED, "data/davidson/labeled_data.csv");
const HALUEVAL = join(SHARED, "data/halueval/general_data.json");
const ROWS = 200;
const WEBGPU_ROWS = Number(process.env.TOKENJUDGE_EVAL_WEBGPU_ROWS ?? 24);

/** Largest probability difference between the CPU reference and WebGPU that the test accepts. */
const BACKEND_PROBABILITY_TOLERANCE = 2e-3;
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

/** Returns why the built-in metrics cannot run on `modelPath`, or undefined when they can. */
async function labelProblem(modelPath: string): Promise<string | undefined> {
  const source = await openFileSource(modelPath);
  try {
    const tokenizer = Tokenizer.fromGGUF(await GGUFFile.open(source));
    for (const metric of Object.values(BUILTIN_METRICS)) resolveLabelTokens(metric, tokenizer);
    return undefined;
  } catch (error) {
    if (error instanceof LabelTokenError) return error.message;
    throw error;
  } finally {
    await source.close?.();
  }
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

/** Fraction of rows where metric `a` and metric `b` give a positive-label probability more than 1e-4 apart. */
function fractionDifferent(lines: EvalOutputLine[], a: string, b: string): number {
  let different = 0;
  for (const line of lines) {
    const first = line.results.find((result) => result.metric === a)!;
    const second = line.results.find((result) => result.metric === b)!;
    if (Math.abs(first.score - second.score) > 1e-4) different++;
  }
  return different / lines.length;
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
          const problem = await labelProblem(modelPath);
          if (problem !== undefined) {
            // NOTE: the stories260K vocabulary has byte pieces only, and label resolution puts the
            // SentencePiece "▁" in front of every label, so all labels share the token <0xE2>.
            console.warn(`skipping ${model.name} ${testCase.dataset}: the built-in labels cannot be told apart: ${problem}`);
            context.skip();
          }

          const folder = join(workDir, model.name, testCase.dataset);
          const metrics = await writeMetricFiles(modelPath, folder, testCase);
          const metricIds = [...testCase.builtins, ...testCase.adapted.map(([base, format, mode]) => `${base}-${mode}-${format}`)];
          const args = ["eval", "--model", modelPath, "--input", testCase.input, "--dataset", testCase.dataset, "--metrics", metrics, "--json"];

          // CPU: every row, every metric; adapters move the probabilities, and the two modes differ.
          const cpu = await tokenjudge(...args, "--limit", String(ROWS), "--backend", "cpu");
          expect(cpu.code, cpu.stderr).toBe(0);
          const cpuLines = parseLines(cpu.stdout);
          checkLines(cpuLines, metricIds, ROWS);
          const base = testCase.adapted[0]![0];
          const [activatedId, classicId] = metricIds.slice(testCase.builtins.length);
          expect(fractionDifferent(cpuLines, base, activatedId!)).toBeGreaterThan(0.9);
          expect(fractionDifferent(cpuLines, base, classicId!)).toBeGreaterThan(0.9);
          expect(fractionDifferent(cpuLines, activatedId!, classicId!)).toBeGreaterThan(0.9);

          // WebGPU: the same verdicts, except rows whose CPU score sits on a decision threshold.
          const gpu = await tokenjudge(...args, "--limit", String(WEBGPU_ROWS), "--backend", "webgpu");
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
          console.info(`${model.name} ${testCase.dataset}, ${WEBGPU_ROWS} rows: max |p_cpu - p_webgpu| ${maxDiff.toExponential(2)}, ${nearThreshold} verdicts on a threshold`);
          expect(disagreements).toEqual([]);
          expect(maxDiff).toBeLessThan(BACKEND_PROBABILITY_TOLERANCE);
        }, 600_000);
      }

      it("--adapters matches the same adapter named in a metric file", async (context) => {
        if (model.unavailable !== undefined || (await labelProblem(await model.path())) !== undefined) {
          console.warn(`skipping the --adapters check on ${model.name}: its built-in metrics cannot run there`);
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
      }, 300_000);
    });
  }
});
