// `tokenjudge` command line: inspect a GGUF model, tokenize text, print last-token log-probabilities,
// evaluate a data file with metrics.

import { readFileSync } from "node:fs";

import { TokenjudgeError, UsageError } from "../errors.js";
import { EVAL_USAGE, runEval } from "./eval.js";
import { runInspect } from "./inspect.js";
import { runLogits } from "./logits.js";
import { runTokenize } from "./tokenize.js";

const COMMANDS = ["inspect", "tokenize", "logits", "eval"] as const;
type Command = (typeof COMMANDS)[number];

/** Usage lines of each command: the synopsis indented by two spaces, then its description. */
const COMMAND_USAGE: Record<Command, string> = {
  inspect: `  inspect MODEL.gguf [--json]
      Print the architecture, sizes, tensor types and tokenizer of a GGUF model.`,
  tokenize: `  tokenize MODEL.gguf TEXT [--parse-special] [--no-bos] [--pieces] [--json]
      Print the token ids of TEXT. TEXT is plain text unless --parse-special is given.
      --no-bos leaves out the BOS token; --pieces prints each token's text beside its id.`,
  logits: `  logits MODEL.gguf TEXT [--top K] [--classes A,B,...] [--backend cpu|webgpu] [--json]
      Run one forward pass over TEXT and print the top-K next-token log-probabilities
      (default K = 10). --classes restricts the softmax to the first token of each label.
      --backend webgpu runs the WGSL kernels (Dawn in Node); cpu, the default, runs the
      float32 reference.`,
  eval: EVAL_USAGE,
};

const MODEL_NOTE = `MODEL may be "demo": a small model generated from a fixed seed on first use (random weights, real
Qwen3 vocabulary), so every command works offline. Its outputs are not meaningful.`;

const USAGE = `Usage: tokenjudge <command> [options]

Commands:
${COMMANDS.map((command) => COMMAND_USAGE[command]).join("\n")}

${MODEL_NOTE}

Options:
  --json       Print one JSON object instead of a table.
  --help       Print this text, or with a command, that command's usage.
  --version    Print the version of tokenjudge.`;

/** Returns the help text of one command. */
export function commandUsage(command: Command): string {
  return `Usage: tokenjudge ${COMMAND_USAGE[command].trimStart()}

${MODEL_NOTE}

  --help    Print this text.`;
}

function isCommand(value: string | undefined): value is Command {
  return (COMMANDS as readonly string[]).includes(value ?? "");
}

/** True when `args` ask for help before a "--" that ends the options. */
function asksForHelp(args: string[]): boolean {
  const end = args.indexOf("--");
  return (end < 0 ? args : args.slice(0, end)).some((arg) => arg === "--help" || arg === "-h");
}

function packageVersion(): string {
  const text = readFileSync(new URL("../../package.json", import.meta.url), "utf8");
  return (JSON.parse(text) as { version: string }).version;
}

/** Runs the command line and returns the process exit code: 0 on success, 1 for a failure, 2 for a usage error. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === "--version") {
    process.stdout.write(`tokenjudge ${packageVersion()}\n`);
    return 0;
  }
  if ((command === "help" || command === "--help" || command === "-h") && isCommand(rest[0])) {
    process.stdout.write(commandUsage(rest[0]) + "\n");
    return 0;
  }
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(USAGE + "\n");
    return command === undefined ? 1 : 0;
  }
  if (!isCommand(command)) {
    process.stderr.write(`tokenjudge: unknown command "${command}"\n\n${USAGE}\n`);
    return 2;
  }
  if (asksForHelp(rest)) {
    process.stdout.write(commandUsage(command) + "\n");
    return 0;
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
    }
  } catch (error) {
    return reportError(error, command);
  }
}

function reportError(error: unknown, command: Command): number {
  if (error instanceof UsageError) {
    process.stderr.write(`tokenjudge ${error.message}\nRun "tokenjudge ${command} --help" for usage.\n`);
    return 2;
  }
  if (error instanceof TokenjudgeError) {
    process.stderr.write(`tokenjudge: ${error.name} [${error.code}]: ${error.message}\n`);
    return 1;
  }
  if (error instanceof TypeError && (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
    process.stderr.write(`tokenjudge ${command}: ${error.message}\nRun "tokenjudge ${command} --help" for usage.\n`);
    return 2;
  }
  throw error;
}
