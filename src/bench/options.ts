// Command-line options of `npm run bench`.

import { InvalidInputError } from "../errors.js";
import { BACKEND_NAMES, type BackendName } from "./backend.js";
import { BENCH_QUANTS, type BenchQuant } from "./models.js";

export interface BenchOptions {
  models: BenchQuant[];
  backends: BackendName[];
  /** Prompt lengths in tokens. */
  lengths: number[];
  /** Prompts longer than this skip the reference backend, which is slow. */
  referenceMaxTokens: number;
  /** Untimed runs before each measurement. */
  warmup: number;
  /** Max timed runs per measurement, fewer when runs are slow (see `cellSeconds`). */
  runs: number;
  /** Seconds of timed runs after which a measurement starts no further run. It always times at least one. */
  cellSeconds: number;
  quick: boolean;
  write: boolean;
  json: boolean;
  /** Markdown file that receives the section. */
  output: string;
  /** Seed of the prompt token ids. */
  seed: number;
}

export const HELP_TEXT = `Usage: npm run bench -- [options]

Measures prefill time (one forward pass over a prompt, last-position logits) of SmolLM2-135M-shaped
models with random weights, on our WebGPU kernels, llama.cpp (CPU) and the TypeScript reference.

Options:
  --quick               64-token prompts only, at most 2 timed runs per measurement
  --models LIST         weight types, comma-separated: ${BENCH_QUANTS.join(",")} (default: all)
  --backends LIST       backends, comma-separated: ${BACKEND_NAMES.join(",")} (default: all)
  --lengths LIST        prompt lengths in tokens (default: 64,256)
  --reference-max N     longest prompt the reference backend runs, in tokens (default: 64)
  --warmup N            untimed runs before each measurement (default: 1)
  --runs N              max timed runs per measurement (default: 5, --quick: 2)
  --cell-seconds S      seconds of timed runs after which a measurement starts no further run, so
                        slow backends get fewer runs, at least 1 (default: 60)
  --seed N              seed of the prompt token ids (default: 1)
  --out FILE            Markdown file to update (default: BENCHMARKS.md)
  --no-write            print the report without writing the file
  --json                print the results as JSON in place of the Markdown report
  --help                print this text
`;

function parseList<T extends string>(flag: string, value: string, allowed: readonly T[]): T[] {
  const items = value.split(",").map((item) => item.trim()).filter(Boolean);
  if (items.length === 0) throw new InvalidInputError(`${flag}: the list is empty; pass one or more of ${allowed.join(", ")}`);
  for (const item of items) {
    if (!allowed.includes(item as T)) throw new InvalidInputError(`${flag}: unknown value "${item}"; use one or more of ${allowed.join(", ")}`);
  }
  return [...new Set(items as T[])];
}

function parsePositiveInteger(flag: string, value: string, minimum = 1): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < minimum) throw new InvalidInputError(`${flag}: "${value}" is invalid; pass an integer of at least ${minimum}`);
  return number;
}

/** Parses the arguments after `npm run bench --`. Returns "help" when --help was passed. */
export function parseBenchArgs(argv: readonly string[]): BenchOptions | "help" {
  const quick = argv.includes("--quick");
  const options: BenchOptions = {
    models: [...BENCH_QUANTS],
    backends: [...BACKEND_NAMES],
    lengths: quick ? [64] : [64, 256],
    referenceMaxTokens: 64,
    warmup: 1,
    runs: quick ? 2 : 5,
    cellSeconds: 60,
    quick,
    write: true,
    json: false,
    output: "BENCHMARKS.md",
    seed: 1,
  };

  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined || next.startsWith("--")) throw new InvalidInputError(`${flag} needs a value; see --help`);
      return next;
    };

    switch (flag) {
      case "--help":
        return "help";
      case "--quick":
        break;
      case "--models":
        options.models = parseList(flag, value(), BENCH_QUANTS);
        break;
      case "--backends":
        options.backends = parseList(flag, value(), BACKEND_NAMES);
        break;
      case "--lengths":
        options.lengths = [...new Set(value().split(",").map((item) => parsePositiveInteger(flag, item.trim())))];
        break;
      case "--reference-max":
        options.referenceMaxTokens = parsePositiveInteger(flag, value());
        break;
      case "--warmup":
        options.warmup = parsePositiveInteger(flag, value(), 0);
        break;
      case "--runs":
        options.runs = parsePositiveInteger(flag, value());
        break;
      case "--cell-seconds":
        options.cellSeconds = parsePositiveInteger(flag, value());
        break;
      case "--seed":
        options.seed = parsePositiveInteger(flag, value(), 0);
        break;
      case "--out":
        options.output = value();
        break;
      case "--no-write":
        options.write = false;
        break;
      case "--json":
        options.json = true;
        break;
      default:
        throw new InvalidInputError(`unknown option "${flag}"; see npm run bench -- --help`);
    }
  }
  return options;
}
