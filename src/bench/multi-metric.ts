// The multi-metric measurement: 1, 4, 16 and 64 metrics on the same content of about 256 tokens.
// On each Judge backend it times one `evaluate` call with all N metrics beside N calls of one
// metric each. The single call prefills the content prefix once and shares it (on WebGPU the
// suffixes also run as one batch), while each separate call prefills the content again.
// llama.cpp, which has no shared prefix here, evaluates each metric's whole prompt from an empty
// sequence.

import { existsSync } from "node:fs";
import { basename } from "node:path";

import { InvalidInputError } from "../errors.js";
import { Random } from "../fixtures/random.js";
import { ensureFixture, FIXTURES } from "../fixtures/registry.js";
import { GGUFFile } from "../gguf/reader.js";
import { GGMLType } from "../gguf/types.js";
import { openFileSource } from "../io/node-file.js";
import type { GPUContext } from "../gpu/context.js";
import { TOXICITY } from "../metrics/builtins.js";
import type { MetricDefinition } from "../metrics/definition.js";
import { Judge } from "../metrics/judge.js";
import type { ModelConfig } from "../model/config.js";
import type { BackendName } from "./backend.js";
import { loadLlamaCppBackend } from "./backend-llamacpp.js";
import type { BenchModel } from "./prefill.js";
import type { ReportTable } from "./report.js";
import { formatMs } from "./tables.js";
import { measure, type RunCounts } from "./timing.js";

export const DEFAULT_METRIC_COUNTS = [1, 4, 16, 64] as const;
/** Content part length the text is grown to, in tokens (BOS, template head and "Text:" included). */
export const MULTI_METRIC_CONTENT_TOKENS = 256;

/** Help lines for the options `extractMultiMetricArgs` reads, in the style of the bench's HELP_TEXT. */
export const MULTI_METRIC_HELP = `  --metric-counts LIST  metric counts of the multi-metric table, comma-separated, or "none" to skip
                        it (default: ${DEFAULT_METRIC_COUNTS.join(",")}); it runs on the first --models entry
  --multi-metric-only   run the multi-metric table alone, without the prefill and load tables
  --multi-metric-model M  model of the multi-metric table: a fixture name (such as stories260k) or
                        a .gguf path (default: the first --models entry)`;

export interface MultiMetricArgs {
  /** Metric counts, ascending; undefined skips the table. */
  counts: number[] | undefined;
  /** True skips the prefill measurement, so the report has the multi-metric table alone. */
  only: boolean;
  /** Fixture name or .gguf path of the model to measure; undefined means the first bench model. */
  model?: string;
  /** The other arguments, for `parseBenchArgs`. */
  rest: string[];
}

/**
 * Removes `--metric-counts LIST`, `--multi-metric-only` and `--multi-metric-model M` from `argv`
 * and returns them with the other arguments. Throws `InvalidInputError` for a bad list or a
 * missing model value, and for `--multi-metric-only` with `--metric-counts none`.
 */
export function extractMultiMetricArgs(argv: readonly string[]): MultiMetricArgs {
  const rest: string[] = [];
  let counts: number[] | undefined = [...DEFAULT_METRIC_COUNTS];
  let only = false;
  let model: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--multi-metric-only") {
      only = true;
      continue;
    }
    if (argv[i] === "--multi-metric-model") {
      model = argv[++i];
      if (model === undefined || model.startsWith("--")) throw new InvalidInputError("--multi-metric-model needs a fixture name such as stories260k or a .gguf path; see --help");
      continue;
    }
    if (argv[i] !== "--metric-counts") {
      rest.push(argv[i]!);
      continue;
    }
    const value = argv[++i];
    if (value === undefined || value.startsWith("--")) throw new InvalidInputError('--metric-counts needs a value such as "1,4,16,64" or "none"; see --help');
    if (value === "none") {
      counts = undefined;
      continue;
    }
    counts = [...new Set(value.split(",").map((item) => Number(item.trim())))].sort((a, b) => a - b);
    if (!counts.every((count) => Number.isInteger(count) && count >= 1)) {
      throw new InvalidInputError(`--metric-counts: "${value}" is invalid; pass positive integers separated by commas, or "none"`);
    }
  }
  if (only && counts === undefined) throw new InvalidInputError("--multi-metric-only with --metric-counts none leaves nothing to measure; drop one of them");
  return { counts, only, rest, ...(model === undefined ? {} : { model }) };
}

/**
 * Returns the bench model for `--multi-metric-model`: a fixture name, built or converted when
 * missing (stories260k needs the shared checkpoint), or the path of a .gguf file. The quant column
 * is the type of the token embedding. Throws `InvalidInputError` when `spec` is neither.
 */
export async function resolveMultiMetricModel(spec: string): Promise<BenchModel> {
  let path = spec;
  let label = basename(spec).replace(/\.gguf$/, "");
  if (FIXTURES[spec] !== undefined) {
    path = await ensureFixture(spec);
    label = spec;
  } else if (!spec.endsWith(".gguf") || !existsSync(spec)) {
    throw new InvalidInputError(`--multi-metric-model: "${spec}" is neither a fixture (${Object.keys(FIXTURES).join(", ")}) nor an existing .gguf file`);
  }

  const source = await openFileSource(path);
  try {
    const file = await GGUFFile.open(source);
    const embedding = file.tensors.find((tensor) => tensor.name === "token_embd.weight");
    return { label, quant: embedding === undefined ? "unknown" : (GGMLType[embedding.type] ?? `type ${embedding.type}`), path };
  } finally {
    await source.close?.();
  }
}

export interface MultiMetricPlan {
  model: BenchModel;
  /** Bench backends to measure; "reference" is the CPU Judge, "webgpu" the WebGPU Judge. */
  backends: BackendName[];
  /** Metric counts, ascending. */
  counts: number[];
  /** The CPU Judge ("reference") is skipped when the content is longer than this many tokens, as in the prefill table. */
  referenceMaxTokens: number;
  runs: RunCounts;
  /** Seed of the content words. */
  seed: number;
  /** Required when `backends` includes "webgpu". */
  context?: GPUContext;
  log?: (line: string) => void;
}

export interface MultiMetricMeasurement {
  backend: BackendName;
  metrics: number;
  mode: "batched" | "separate";
  /** Median wall time of evaluating all N metrics once, in milliseconds. */
  medianMs: number;
  runs: number;
}

export interface MultiMetricResults {
  model: string;
  quant: string;
  /** Architecture and sizes of the model, for the table description. */
  modelSummary: string;
  /** Content part tokens of the first metric's prompt. */
  contentTokens: number;
  /** Suffix tokens, min and max over the metrics. */
  suffixTokens: { min: number; max: number };
  measurements: MultiMetricMeasurement[];
  skipped: string[];
}

const QUESTIONS = [
  "Is the text above toxic?",
  "Does the text above contain a threat?",
  "Is the text above written in a formal tone?",
  "Does the text above mention a person by name?",
  "Is the text above a question?",
  "Does the text above contain advice?",
  "Is the text above about food?",
  "Does the text above express a positive sentiment?",
];

const WORDS = ("the a small story about river town children found old map near bridge every morning teacher asked " +
  "why people walk slowly under grey sky while market opens late bread smells warm dogs bark friends laugh").split(" ");

/** Returns `count` metric definitions that share the built-in toxicity content part and differ in their question. */
export function benchMetrics(count: number): MetricDefinition[] {
  return Array.from({ length: count }, (_, i) => ({
    ...TOXICITY,
    id: `bench-metric-${i + 1}`,
    template: { ...TOXICITY.template, suffix: `Question ${i + 1}: ${QUESTIONS[i % QUESTIONS.length]} Answer Yes or No.` },
  }));
}

/** Grows a seeded word sequence until the first metric's content part reaches `MULTI_METRIC_CONTENT_TOKENS` tokens. */
function benchContent(judge: Judge, metricId: string, seed: number): string {
  const random = new Random(`multi-metric/${seed}`);
  const words: string[] = [];
  while (judge.renderPrompt({ input: words.join(" ") || "x" }, metricId).contentTokens.length < MULTI_METRIC_CONTENT_TOKENS) {
    for (let i = 0; i < 8; i++) words.push(WORDS[Math.floor(random.uniform() * WORDS.length)]!);
  }
  return words.join(" ");
}

/**
 * Measures every backend of `plan` at every metric count. The Judge registers the largest count
 * of metrics once and each measurement selects the first N of them.
 */
export async function runMultiMetricBench(plan: MultiMetricPlan): Promise<MultiMetricResults> {
  const log = plan.log ?? (() => undefined);
  const maxCount = Math.max(...plan.counts);
  if (!plan.counts.every((count) => Number.isInteger(count) && count >= 1)) {
    throw new InvalidInputError(`multi-metric counts ${plan.counts.join(",")} are invalid; pass positive integers`);
  }
  const metrics = benchMetrics(maxCount);
  const ids = metrics.map((metric) => metric.id);

  // The CPU Judge renders the prompts for every backend, so all of them see the same tokens.
  const cpuJudge = await Judge.create({ model: plan.model.path, metrics, backend: "cpu" });
  const content = { input: benchContent(cpuJudge, ids[0]!, plan.seed) };
  const prompts = ids.map((id) => cpuJudge.renderPrompt(content, id));
  const suffixLengths = prompts.map((prompt) => prompt.suffixTokens.length);
  const results: MultiMetricResults = {
    model: plan.model.label,
    quant: plan.model.quant,
    modelSummary: summarizeConfig(cpuJudge.config),
    contentTokens: prompts[0]!.contentTokens.length,
    suffixTokens: { min: Math.min(...suffixLengths), max: Math.max(...suffixLengths) },
    measurements: [],
    skipped: [],
  };

  for (const backend of plan.backends) {
    if (backend === "llamacpp") {
      const llama = await loadLlamaCppBackend(plan.model.path, { maxTokens: Math.max(...prompts.map((prompt) => prompt.contentTokens.length + prompt.suffixTokens.length)) });
      try {
        for (const count of plan.counts) {
          const measurement = await measure(async () => {
            for (const prompt of prompts.slice(0, count)) await llama.prefill([...prompt.contentTokens, ...prompt.suffixTokens]);
          }, plan.runs);
          results.measurements.push({ backend, metrics: count, mode: "separate", medianMs: measurement.medianMs, runs: measurement.samplesMs.length });
          log(`multi-metric ${plan.model.quant} llamacpp ${count} metrics: ${measurement.medianMs.toFixed(1)} ms`);
        }
      } finally {
        await llama.dispose();
      }
      continue;
    }

    if (backend === "reference" && results.contentTokens > plan.referenceMaxTokens) {
      results.skipped.push(`CPU Judge (content of ${results.contentTokens} tokens is longer than the reference limit of ${plan.referenceMaxTokens} tokens)`);
      continue;
    }
    if (backend === "webgpu" && plan.context === undefined) {
      results.skipped.push("webgpu (no GPU context)");
      continue;
    }
    const judge = backend === "reference" ? cpuJudge : await Judge.create({ model: plan.model.path, metrics, backend: "webgpu", context: plan.context });
    try {
      for (const count of plan.counts) {
        const selected = ids.slice(0, count);
        const batched = await measure(() => judge.evaluate(content, { metrics: selected }), plan.runs);
        results.measurements.push({ backend, metrics: count, mode: "batched", medianMs: batched.medianMs, runs: batched.samplesMs.length });

        const separate = await measure(async () => {
          for (const id of selected) await judge.evaluate(content, { metrics: [id] });
        }, plan.runs);
        results.measurements.push({ backend, metrics: count, mode: "separate", medianMs: separate.medianMs, runs: separate.samplesMs.length });
        log(`multi-metric ${plan.model.quant} ${backend} ${count} metrics: batched ${batched.medianMs.toFixed(1)} ms, separate ${separate.medianMs.toFixed(1)} ms`);
      }
    } finally {
      if (judge !== cpuJudge) judge.dispose();
    }
  }
  cpuJudge.dispose();
  return results;
}

function summarizeConfig(config: ModelConfig): string {
  return `${config.architecture}, ${config.layerCount} blocks, n_embd ${config.embeddingLength}, n_ff ${config.feedForwardLength}, vocabulary ${config.vocabSize}, context ${config.contextLength}`;
}

const JUDGE_LABELS: Partial<Record<BackendName, string>> = { webgpu: "WebGPU Judge (ours)", reference: "CPU Judge (TS reference)" };

/** Builds the multi-metric table: per Judge backend and metric count, batched and separate times, and llama.cpp's. */
export function multiMetricTable(results: MultiMetricResults): ReportTable {
  const find = (backend: BackendName, count: number, mode: MultiMetricMeasurement["mode"]) =>
    results.measurements.find((entry) => entry.backend === backend && entry.metrics === count && entry.mode === mode);
  const ratio = (numerator: number | undefined, denominator: number | undefined): string =>
    numerator === undefined || denominator === undefined ? "-" : `${(numerator / denominator).toFixed(2)}x`;

  const rows: string[][] = [];
  for (const backend of ["webgpu", "reference"] as const) {
    const counts = [...new Set(results.measurements.filter((entry) => entry.backend === backend).map((entry) => entry.metrics))];
    for (const count of counts) {
      const batched = find(backend, count, "batched");
      const separate = find(backend, count, "separate");
      const llama = find("llamacpp", count, "separate");
      rows.push([
        results.model,
        results.quant,
        JUDGE_LABELS[backend]!,
        String(count),
        batched === undefined ? "-" : formatMs(batched.medianMs),
        separate === undefined ? "-" : formatMs(separate.medianMs),
        ratio(separate?.medianMs, batched?.medianMs),
        llama === undefined ? "-" : formatMs(llama.medianMs),
        ratio(llama?.medianMs, batched?.medianMs),
      ]);
    }
  }

  const description = [
    `Model ${results.model} (${results.modelSummary}). ` +
      `N metrics on the same content of ${results.contentTokens} tokens (BOS, "Text:" and seeded English words), ` +
      `each metric adding a question suffix of ${results.suffixTokens.min} to ${results.suffixTokens.max} tokens and reading two class tokens. ` +
      "Batched: one evaluate call with all N metrics, where the content prefix is prefilled once and shared (on WebGPU the N suffixes run as one batched pass). " +
      "Separate: N evaluate calls of one metric each, every one prefilling the content again. " +
      "llama.cpp: N prefills of each metric's whole prompt from an empty sequence, greedy next token at the last position. " +
      "Times are medians of whole runs over all N metrics; the ratios divide by the batched time of the same row.",
  ];
  if (results.skipped.length > 0) description.push(`Not measured: ${results.skipped.join("; ")}.`);

  return {
    title: "Multi-metric evaluation",
    description,
    columns: [
      { header: "model", align: "left" },
      { header: "quant", align: "left" },
      { header: "judge backend", align: "left" },
      { header: "metrics", align: "right" },
      { header: "batched ms", align: "right" },
      { header: "separate ms", align: "right" },
      { header: "separate / batched", align: "right" },
      { header: "llama.cpp ms", align: "right" },
      { header: "llama.cpp / batched", align: "right" },
    ],
    rows,
  };
}
