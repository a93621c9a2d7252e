// Shared pieces of the `tokenjudge eval` tests: running the command as a child process, reading
// a model's config, and parsing `--json` output.

import { execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

import { GGUFFile } from "../../src/gguf/reader.js";
import { openFileSource } from "../../src/io/node-file.js";
import type { EvalOutputLine } from "../../src/cli/eval.js";
import { readModelConfig, type ModelConfig } from "../../src/model/config.js";

const run = promisify(execFile);
export const BIN = join(import.meta.dirname, "../../bin/tokenjudge.js");
const SWIFTSHADER_ICD = "/usr/lib/chromium/vk_swiftshader_icd.json";

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Returns the environment of a child run: SwiftShader as the Vulkan driver when none is set, so WebGPU finds an adapter. */
export function childEnvironment(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  if (env.VK_ICD_FILENAMES === undefined && existsSync(SWIFTSHADER_ICD)) env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  return env;
}

/** Runs `tokenjudge ARGS...` and returns its exit code and output. */
export async function tokenjudge(...args: string[]): Promise<CommandResult> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env: childEnvironment(), maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failure.code === "number" ? failure.code : -1, stdout: failure.stdout ?? "", stderr: failure.stderr ?? "" };
  }
}

/** Seconds after which `tokenjudgeInterrupted` kills a child that ignored SIGINT. */
const INTERRUPT_GRACE_SECONDS = 60;

/**
 * Starts `tokenjudge ARGS...`, sends SIGINT to that child once its stdout has `lines` lines, and
 * returns the outcome. A child still running INTERRUPT_GRACE_SECONDS after the SIGINT gets SIGKILL.
 */
export function tokenjudgeInterrupted(lines: number, ...args: string[]): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: childEnvironment() });
    let killTimer: NodeJS.Timeout | undefined;
    let stdout = "";
    let stderr = "";
    let sent = false;
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (!sent && stdout.split("\n").length > lines) {
        sent = true;
        child.kill("SIGINT");
        killTimer = setTimeout(() => child.kill("SIGKILL"), INTERRUPT_GRACE_SECONDS * 1000);
      }
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(killTimer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** Parses `--json` output: one EvalOutputLine per non-empty line. */
export function parseLines(stdout: string): EvalOutputLine[] {
  return stdout
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as EvalOutputLine);
}

/** Reads the model config of a GGUF file. */
export async function modelConfigOf(path: string): Promise<ModelConfig> {
  const source = await openFileSource(path);
  try {
    return readModelConfig(await GGUFFile.open(source));
  } finally {
    await source.close?.();
  }
}
