// `tokenjudge eval`: evaluates every row of a JSONL or CSV file (or of a known labeled data set)
// with a list of metrics and writes one result line per row. Progress goes to stderr. Ctrl-C aborts
// an AbortSignal that is checked between rows (and between metrics when the backend awaits), so
// every line already written is a complete row.

import { parseArgs } from "node:util";

import { AbortError, DataRowError, InvalidInputError, TemplateSlotError, throwIfAborted, UsageError } from "../errors.js";
import { DATASET_METRICS, DATASETS, type DatasetName } from "../data/datasets.js";
import { readEvalRows, ROW_FORMATS, type RowFormat } from "../data/read.js";
import type { EvalRow } from "../data/rows.js";
import { BUILTIN_METRICS } from "../metrics/builtins.js";
import { Judge } from "../metrics/judge.js";
import type { MetricResult } from "../metrics/pipeline.js";
import { ADAPTER_MODES, attachAdapters, resolveMetricList, type AdapterMode } from "./eval-metrics.js";
import { resolveModelPath } from "./open-model.js";

export const EVAL_BACKENDS = ["cpu", "webgpu"] as const;
export type EvalBackend = (typeof EVAL_BACKENDS)[number];

/** Exit code after Ctrl-C, as shells report a process ended by SIGINT (128 + 2). */
export const INTERRUPTED_EXIT_CODE = 130;

/** One line of `--json` output. */
export interface EvalOutputLine {
  row: number;
  id?: string;
  /** The data set's label for the row, when the file has one. */
  label?: string;
  results: MetricResult[];
}

export const EVAL_USAGE = `  eval --model MODEL --input FILE [--metrics LIST] [--format jsonl|csv] [--dataset ${DATASETS.join("|")}]
       [--limit N] [--backend cpu|webgpu] [--adapters DIR] [--adapter-mode activated|classic]
       [--skip-invalid] [--progress-every N] [--json]
      Evaluate every row of FILE and print one line per row. JSONL rows and CSV columns are id,
      input, output, context, tools, toolCall and label; the format follows the extension unless
      --format is given. --dataset reads a labeled data set with its own columns (davidson: the
      tweet is the input; halueval: the query is the input and context, the response the output).
      --metrics: comma-separated built-in ids or metric JSON files (default with --dataset: the
      metric its labels fit). --limit: rows to evaluate. --adapters DIR: LoRA adapters by metric
      id, DIR/<id>.gguf or a PEFT folder DIR/<id>/, applied in --adapter-mode (default activated).
      --skip-invalid reports invalid rows on stderr and goes on. --progress-every: rows between
      progress lines on stderr (default 50). Ctrl-C stops before the next row, exit code 130.`;

interface EvalArgs {
  model: string;
  input: string;
  metrics: string | undefined;
  format: RowFormat | undefined;
  dataset: DatasetName | undefined;
  limit: number | undefined;
  backend: EvalBackend;
  adapters: string | undefined;
  adapterMode: AdapterMode;
  skipInvalid: boolean;
  progressEvery: number;
  json: boolean;
}

export async function runEval(argv: string[]): Promise<number> {
  const args = parseEvalArgs(argv);
  const controller = new AbortController();
  // The first Ctrl-C stops at the next check of the signal; a second one exits at once.
  const onInterrupt = (): void => {
    if (controller.signal.aborted) process.exit(INTERRUPTED_EXIT_CODE);
    controller.abort();
  };
  process.on("SIGINT", onInterrupt);

  try {
    return await evaluateFile(args, controller.signal);
  } catch (error) {
    if (error instanceof AbortError) {
      process.stderr.write("tokenjudge eval: interrupted by SIGINT; every result line written is a complete row\n");
      return INTERRUPTED_EXIT_CODE;
    }
    throw error;
  } finally {
    process.off("SIGINT", onInterrupt);
  }
}

async function evaluateFile(args: EvalArgs, signal: AbortSignal): Promise<number> {
  // Step 1: rows and metrics.
  const { rows, skipped } = await readEvalRows(args.input, { format: args.format, dataset: args.dataset, limit: args.limit, skipInvalid: args.skipInvalid });
  for (const error of skipped) process.stderr.write(`tokenjudge eval: skipped ${error.message}\n`);
  if (rows.length === 0) throw new InvalidInputError(`${args.input}: no valid rows to evaluate; check the file and its format`);

  const metricList = args.metrics ?? (args.dataset === undefined ? undefined : DATASET_METRICS[args.dataset].join(","));
  if (metricList === undefined) {
    throw new UsageError("eval", `missing --metrics; pass built-in metric ids (${Object.keys(BUILTIN_METRICS).join(", ")}) or metric JSON files, comma-separated`);
  }
  let metrics = await resolveMetricList(metricList);
  if (args.adapters !== undefined) {
    const attached = await attachAdapters(metrics, args.adapters, args.adapterMode);
    if (attached.missing.length === metrics.length) {
      throw new InvalidInputError(`--adapters: "${args.adapters}" has no adapter for any of ${metrics.map((metric) => metric.id).join(", ")}; name files <metric-id>.gguf or folders <metric-id>/`);
    }
    for (const id of attached.missing) process.stderr.write(`tokenjudge eval: no adapter for metric "${id}" in ${args.adapters}; it runs on the base model\n`);
    metrics = attached.metrics;
  }

  // Step 2: the Judge on the requested backend.
  const modelPath = await resolveModelPath(args.model);
  throwIfAborted(signal);
  const judge = await Judge.create({ model: modelPath, metrics, backend: args.backend, signal });

  // Step 3: one result line per row.
  const started = performance.now();
  const verdictCounts = new Map<string, Map<string, number>>();
  let evaluated = 0;
  let invalid = skipped.length;
  try {
    for (const [index, row] of rows.entries()) {
      // The CPU forward pass never yields, so a SIGINT handler only runs here, between rows.
      await new Promise((resolve) => setImmediate(resolve));
      const rowStarted = performance.now();
      const results = await evaluateRow(judge, row, args.input, signal, args.skipInvalid);
      const rowMs = performance.now() - rowStarted;
      if (results === undefined) {
        invalid++;
        continue;
      }

      evaluated++;
      for (const result of results) {
        const counts = verdictCounts.get(result.metric) ?? new Map<string, number>();
        counts.set(result.verdict, (counts.get(result.verdict) ?? 0) + 1);
        verdictCounts.set(result.metric, counts);
      }
      process.stdout.write((args.json ? JSON.stringify(outputLine(row, results)) : tableLine(row, results, rowMs)) + "\n");

      if ((index + 1) % args.progressEvery === 0 && index + 1 < rows.length) {
        const seconds = (performance.now() - started) / 1000;
        process.stderr.write(`tokenjudge eval: ${index + 1}/${rows.length} rows, ${((index + 1) / seconds).toFixed(1)} rows/s\n`);
      }
    }
  } finally {
    judge.dispose();
  }

  // Step 4: a summary on stderr, so stdout holds only result lines.
  const seconds = (performance.now() - started) / 1000;
  const verdicts = [...verdictCounts].map(([metric, counts]) => `${metric}: ${[...counts].map(([verdict, count]) => `${verdict} ${count}`).join(", ")}`);
  process.stderr.write(`tokenjudge eval: ${evaluated} ${evaluated === 1 ? "row" : "rows"} evaluated, ${invalid} invalid skipped, ${seconds.toFixed(1)} s on ${args.backend}; ${verdicts.join("; ")}\n`);
  return 0;
}

/**
 * Evaluates one row. A row the metrics cannot evaluate (a template slot it leaves empty, or
 * content the Judge rejects) throws `DataRowError`, or returns undefined after reporting it on
 * stderr when `skipInvalid` is set.
 */
async function evaluateRow(judge: Judge, row: EvalRow, file: string, signal: AbortSignal, skipInvalid: boolean): Promise<MetricResult[] | undefined> {
  try {
    return await judge.evaluate(row.content, { signal });
  } catch (error) {
    if (!(error instanceof TemplateSlotError) && !(error instanceof InvalidInputError)) throw error;

    const field = error instanceof TemplateSlotError ? (error.slot === "tool_call" ? "toolCall" : error.slot) : "(content)";
    const rowError = new DataRowError(file, row.row, row.line, field, `${error.message}; fix the row or pass --skip-invalid`, { cause: error });
    if (!skipInvalid) throw rowError;
    process.stderr.write(`tokenjudge eval: skipped ${rowError.message}\n`);
    return undefined;
  }
}

function outputLine(row: EvalRow, results: MetricResult[]): EvalOutputLine {
  return {
    row: row.row,
    ...(row.id === undefined ? {} : { id: row.id }),
    ...(row.label === undefined ? {} : { label: row.label }),
    results,
  };
}

/**
 * Formats a row as `row 12 id=5 label=offensive | toxicity not_toxic p=0.588 | ... | 45 tokens 12.3 ms`:
 * each metric's verdict with that verdict's probability, the longest prompt, and the row's wall time.
 */
function tableLine(row: EvalRow, results: MetricResult[], rowMs: number): string {
  const head = [`row ${row.row}`, row.id === undefined ? "" : `id=${row.id}`, row.label === undefined ? "" : `label=${row.label}`].filter(Boolean).join(" ");
  const cells = results.map((result) => `${result.metric} ${result.verdict} p=${(result.probabilities[result.verdict] ?? result.score).toFixed(3)}${result.truncated ? " (truncated)" : ""}`);
  const tokens = Math.max(...results.map((result) => result.tokens));
  return [head, ...cells, `${tokens} tokens ${rowMs.toFixed(1)} ms`].join(" | ");
}

function parseEvalArgs(argv: string[]): EvalArgs {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: "string" },
      input: { type: "string" },
      metrics: { type: "string" },
      format: { type: "string" },
      dataset: { type: "string" },
      limit: { type: "string" },
      backend: { type: "string", default: "cpu" },
      adapters: { type: "string" },
      "adapter-mode": { type: "string", default: "activated" },
      "skip-invalid": { type: "boolean", default: false },
      "progress-every": { type: "string", default: "50" },
      json: { type: "boolean", default: false },
    },
  });

  const model = values.model ?? positionals[0];
  if (model === undefined) throw new UsageError("eval", 'missing --model; pass the path of a .gguf file, or "demo"');
  if (positionals.length > (values.model === undefined ? 1 : 0)) {
    throw new UsageError("eval", `unexpected argument "${positionals.at(-1)}"; eval takes its model and files through --model and --input`);
  }
  if (values.input === undefined) throw new UsageError("eval", "missing --input; pass a JSONL or CSV file of rows");

  return {
    model,
    input: values.input,
    metrics: values.metrics,
    format: oneOf("--format", values.format, ROW_FORMATS),
    dataset: oneOf("--dataset", values.dataset, DATASETS),
    limit: values.limit === undefined ? undefined : positiveInteger("--limit", values.limit),
    backend: oneOf("--backend", values.backend, EVAL_BACKENDS)!,
    adapters: values.adapters,
    adapterMode: oneOf("--adapter-mode", values["adapter-mode"], ADAPTER_MODES)!,
    skipInvalid: values["skip-invalid"],
    progressEvery: positiveInteger("--progress-every", values["progress-every"]),
    json: values.json,
  };
}

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new InvalidInputError(`${flag} must be ${allowed.map((item) => `"${item}"`).join(" or ")}, got "${value}"`);
  return value as T;
}

function positiveInteger(flag: string, value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new InvalidInputError(`${flag} must be a positive integer, got "${value}"`);
  return number;
}
