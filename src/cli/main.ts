// `tokenjudge` command line: inspect a GGUF model, tokenize text, print last-token log-probabilities,
// evaluate a data file with metrics.

import { TokenjudgeError } from "../errors.js";
import { EVAL_USAGE, runEval } from "./eval.js";
import { runInspect } from "./inspect.js";
import { runLogits } from "./logits.js";
import { runTokenize } from "./tokenize.js";

const USAGE = `Usage: tokenjudge <command> [options]

Commands:
  inspect MODEL.gguf [--json]
      Print the architecture, sizes, tensor types and tokenizer of a GGUF model.
  tokenize MODEL.gguf TEXT [--parse-special] [--no-bos] [--pieces] [--json]
      Print the token ids of TEXT. TEXT is plain text unless --parse-special is given.
  logits MODEL.gguf TEXT [--top K] [--classes A,B,...] [--backend cpu|webgpu] [--json]
      Run one forward pass over TEXT and print the top-K next-token log-probabilities
      (default K = 10). --classes restricts the softmax to the first token of each label.
      --backend webgpu runs the WGSL kernels (Dawn in Node); cpu, the default, runs the
      float32 reference.
${EVAL_USAGE}

MODEL may be "demo": a small model generated from a fixed seed on first use (random weights, real
Qwen3 vocabulary), so every command works offline. Its outputs are not meaningful.

Options:
  --json     Print one JSON object instead of a table.
  --help     Print this text.`;

/** Runs the command line and returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(USAGE + "\n");
    return command === undefined ? 1 : 0;
  }

  try {
    switch (command) {
      case "inspect":
        return await runInspect(rest);
      case "tokenize":
        return await runTokenize(rest);
      case "logits":
        return await runLogits(rest);
      case "eval":
        return await runEval(rest);
      default:
        process.stderr.write(`tokenjudge: unknown command "${command}"\n\n${USAGE}\n`);
        return 2;
    }
  } catch (error) {
    return reportError(error);
  }
}

function reportError(error: unknown): number {
  if (error instanceof TokenjudgeError) {
    process.stderr.write(`tokenjudge: ${error.name} [${error.code}]: ${error.message}\n`);
    return 1;
  }
  if (error instanceof TypeError && (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
    process.stderr.write(`tokenjudge: ${error.message}\nRun "tokenjudge --help" for usage.\n`);
    return 2;
  }
  throw error;
}
