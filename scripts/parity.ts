// `npm run parity [-- --json] [-- --webgpu node-dawn,chromium-worker|none]`: compares tokenization
// and last-token log-probabilities with llama.cpp on every fixture, then the WebGPU forward pass
// with the reference and llama.cpp on each WebGPU backend. Then it compares metric probabilities
// on the CPU and on Dawn: metrics together versus alone, and a classic adapter versus merged
// weights and versus llama.cpp. It prints the results and exits 1 when any comparison fails.

import { existsSync } from "node:fs";
import { parseArgs } from "node:util";

import { chromiumUnavailableReason, scoreInChromium } from "../e2e/parity-page/chromium.js";
import { GPUContext } from "../src/gpu/context.js";
import { WebGPUUnavailableError } from "../src/gpu/device.js";
import { compareLogitsWithLlamaCpp, type LogitsParityResult } from "../src/oracle/logits-parity.js";
import { compareMetricsParity, METRICS_PARITY_MODELS, type MetricsParityBackend, type MetricsParityResult } from "../src/oracle/metrics-parity.js";
import { logitsParityTargets, parityTarget, TOKENIZER_PARITY_MODELS } from "../src/oracle/parity-targets.js";
import { tokenizerCorpus } from "../src/oracle/tokenizer-corpus.js";
import { compareTokenizerWithLlamaCpp, type TokenizerMismatch } from "../src/oracle/tokenizer-parity.js";
import {
  compareGPUScores,
  computeParityExpectations,
  failedWebGPUParityResult,
  formatWebGPUParityResult,
  scoreWithDawn,
  type ParityExpectations,
  type WebGPUParityBackend,
  type WebGPUParityResult,
} from "../src/oracle/webgpu-parity.js";

interface ParityReport {
  tokenizer: { cases: number; mismatches: number; vocabularies: { model: string; cases: number; mismatches: number }[]; examples: TokenizerMismatch[] };
  logits: LogitsParityResult[];
  webgpu: WebGPUParityResult[];
  metrics: { results: MetricsParityResult[]; skipped: { model: string; backend: MetricsParityBackend; reason: string }[] };
  skipped: { model: string; reason: string }[];
}

// The SwiftShader Vulkan driver of Debian's chromium package, for Dawn on machines without a GPU.
const SWIFTSHADER_ICD = "/usr/lib/chromium/vk_swiftshader_icd.json";
const WEBGPU_BACKENDS: readonly WebGPUParityBackend[] = ["node-dawn", "chromium-worker"];

const { values } = parseArgs({
  options: {
    json: { type: "boolean", default: false },
    // Comma-separated WebGPU backends to compare, or "none".
    webgpu: { type: "string", default: WEBGPU_BACKENDS.join(",") },
  },
});
const webgpuBackends = values.webgpu === "none" ? [] : values.webgpu.split(",").map((name) => name.trim());
for (const name of webgpuBackends) {
  if (!WEBGPU_BACKENDS.includes(name as WebGPUParityBackend)) {
    process.stderr.write(`--webgpu: unknown backend "${name}"; pass a comma-separated list of ${WEBGPU_BACKENDS.join(", ")}, or none\n`);
    process.exit(2);
  }
}
const log = (line: string): void => {
  if (!values.json) process.stdout.write(line + "\n");
};

const report: ParityReport = { tokenizer: { cases: 0, mismatches: 0, vocabularies: [], examples: [] }, logits: [], webgpu: [], metrics: { results: [], skipped: [] }, skipped: [] };

// Step 1: tokenizer ids on the corpus, for the three vocabularies.
const corpus = tokenizerCorpus();
for (const name of TOKENIZER_PARITY_MODELS) {
  const target = parityTarget(name);
  if (target.unavailable !== undefined) {
    report.skipped.push({ model: name, reason: target.unavailable });
    log(`tokenizer ${name}: skipped, ${target.unavailable}`);
    continue;
  }
  const result = await compareTokenizerWithLlamaCpp(await target.path(), corpus);
  report.tokenizer.cases += result.cases;
  report.tokenizer.mismatches += result.mismatches;
  report.tokenizer.vocabularies.push({ model: name, cases: result.cases, mismatches: result.mismatches });
  report.tokenizer.examples.push(...result.examples.slice(0, 3));
  log(`tokenizer ${name}: ${result.cases} cases, ${result.mismatches} mismatches`);
}

// Step 2: last-token log-probabilities of the reference forward pass, for every model.
for (const target of logitsParityTargets()) {
  if (target.unavailable !== undefined) {
    report.skipped.push({ model: target.name, reason: target.unavailable });
    log(`logits ${target.name}: skipped, ${target.unavailable}`);
    continue;
  }
  const result = await compareLogitsWithLlamaCpp(target.name, await target.path());
  report.logits.push(result);
  log(
    `logits ${result.fixture.padEnd(20)} ${result.weightType.padEnd(5)} maxAbsDiff ${result.maxAbsDiff.toExponential(2)} (bound ${result.tolerance}) top1 ${result.top1Match ? "same" : "DIFFERENT"} ${result.passed ? "ok" : "FAILED"}`,
  );
}

// Step 3: the WebGPU forward pass on every backend, against the reference and llama.cpp.
if (webgpuBackends.length > 0) {
  const expectations: { expected: ParityExpectations; path: string }[] = [];
  for (const target of logitsParityTargets()) {
    if (target.unavailable !== undefined) {
      report.skipped.push({ model: `webgpu ${target.name}`, reason: target.unavailable });
      continue;
    }
    const path = await target.path();
    expectations.push({ expected: await computeParityExpectations(target.name, path), path });
  }

  const record = (result: WebGPUParityResult): void => {
    report.webgpu.push(result);
    log(formatWebGPUParityResult(result));
  };

  if (webgpuBackends.includes("node-dawn")) {
    // Dawn reads VK_ICD_FILENAMES when the first adapter is requested.
    if (process.env.VK_ICD_FILENAMES === undefined && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    const context = await GPUContext.create().catch((error: unknown) => {
      const reason = `no WebGPU device in Node: ${(error as Error).message}`;
      report.skipped.push({ model: "webgpu node-dawn", reason });
      log(`webgpu node-dawn: skipped, ${reason}`);
      return undefined;
    });
    if (context) {
      try {
        for (const { expected, path } of expectations) {
          const scores = await scoreWithDawn(context, path, expected.cases).catch((error: unknown) => error as Error);
          record(scores instanceof Error ? failedWebGPUParityResult(expected, "node-dawn", scores) : compareGPUScores(expected, "node-dawn", scores));
        }
      } finally {
        context.dispose();
      }
    }
  }

  if (webgpuBackends.includes("chromium-worker")) {
    const unavailable = chromiumUnavailableReason();
    if (unavailable) {
      report.skipped.push({ model: "webgpu chromium-worker", reason: unavailable });
      log(`webgpu chromium-worker: skipped, ${unavailable}`);
    } else {
      const jobs = expectations.map(({ expected, path }) => ({ fixture: expected.fixture, path, cases: expected.cases }));
      const outcomes = await scoreInChromium(jobs);
      outcomes.forEach((outcome, index) => {
        const expected = expectations[index]!.expected;
        record("error" in outcome ? failedWebGPUParityResult(expected, "chromium-worker", outcome.error) : compareGPUScores(expected, "chromium-worker", outcome.scores));
      });
    }
  }
}

// Step 4: metric probabilities through the Judge, on the CPU and, with node-dawn requested, on Dawn.
const metricsBackends: MetricsParityBackend[] = webgpuBackends.includes("node-dawn") ? ["cpu", "webgpu"] : ["cpu"];
for (const name of METRICS_PARITY_MODELS) {
  const target = parityTarget(name);
  for (const backend of metricsBackends) {
    if (target.unavailable !== undefined) {
      report.metrics.skipped.push({ model: name, backend, reason: target.unavailable });
      log(`metrics ${name} ${backend}: skipped, ${target.unavailable}`);
      continue;
    }
    let result: MetricsParityResult;
    try {
      result = await compareMetricsParity(name, await target.path(), backend);
    } catch (error) {
      if (!(error instanceof WebGPUUnavailableError)) throw error;
      report.metrics.skipped.push({ model: name, backend, reason: error.message });
      log(`metrics ${name} ${backend}: skipped, ${error.message}`);
      continue;
    }
    report.metrics.results.push(result);
    log(
      `metrics ${result.model.padEnd(20)} ${backend.padEnd(6)} ${result.metrics} metrics: together vs alone ${result.togetherVsAlone.toExponential(2)}, ` +
        `classic vs merged ${result.classicVsMerged.toExponential(2)}, classic vs llama.cpp ${result.classicVsLlamaCpp.toExponential(2)} ${result.passed ? "ok" : "FAILED"}`,
    );
  }
}

if (values.json) process.stdout.write(JSON.stringify(report) + "\n");

const failed =
  report.tokenizer.mismatches > 0 ||
  report.logits.some((result) => !result.passed) ||
  report.webgpu.some((result) => !result.passed) ||
  report.metrics.results.some((result) => !result.passed);
process.exitCode = failed ? 1 : 0;
