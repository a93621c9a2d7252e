// Command-line usage: per-command --help, --version, and extra positional arguments rejected with
// exit status 2. Most cases call `main` in this process with stdout and stderr captured; one runs
// the real bin script to check the exit status a shell receives.

import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";

import { afterEach, describe, expect, it, vi } from "vitest";

import { main } from "../../src/cli/main.js";

const BIN = join(import.meta.dirname, "../../bin/tokenjudge.js");
const PACKAGE_VERSION = (JSON.parse(readFileSync(join(import.meta.dirname, "../../package.json"), "utf8")) as { version: string }).version;

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `main(argv)` with process.stdout and process.stderr captured. */
async function runMain(...argv: string[]): Promise<Outcome> {
  let stdout = "";
  let stderr = "";
  vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const code = await main(argv);
    return { code, stdout, stderr };
  } finally {
    vi.restoreAllMocks();
  }
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("per-command --help", () => {
  it.each([
    ["inspect", "tokenjudge inspect MODEL.gguf"],
    ["tokenize", "tokenjudge tokenize MODEL.gguf TEXT"],
    ["logits", "tokenjudge logits MODEL.gguf TEXT"],
    ["eval", "tokenjudge eval --model MODEL --input FILE"],
  ])("prints the usage of %s", async (command, first) => {
    const result = await runMain(command, "--help");
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.stdout.startsWith(`Usage: ${first}`)).toBe(true);
    // Only that command's usage, not the whole list.
    for (const other of ["inspect", "tokenize", "logits", "eval"].filter((name) => name !== command)) {
      expect(result.stdout).not.toContain(`tokenjudge ${other} `);
    }
  });

  it("accepts -h and a help flag after other arguments", async () => {
    expect((await runMain("tokenize", "-h")).code).toBe(0);
    const late = await runMain("logits", "model.gguf", "some text", "--top", "3", "--help");
    expect(late.code).toBe(0);
    expect(late.stdout).toContain("Usage: tokenjudge logits");
  });

  it("treats --help after -- as text", async () => {
    const result = await runMain("tokenize", "missing-model.gguf", "--", "--help");
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("missing-model.gguf");
  });

  it("prints a command's usage for help COMMAND", async () => {
    const result = await runMain("help", "inspect");
    expect(result.code).toBe(0);
    expect(result.stdout.startsWith("Usage: tokenjudge inspect")).toBe(true);
  });

  it("prints the full usage without a command", async () => {
    const result = await runMain("--help");
    expect(result.code).toBe(0);
    for (const command of ["inspect", "tokenize", "logits", "eval"]) expect(result.stdout).toContain(`  ${command} `);
  });
});

describe("--version", () => {
  it("prints the package version", async () => {
    const result = await runMain("--version");
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(`tokenjudge ${PACKAGE_VERSION}\n`);
  });
});

describe("extra positional arguments", () => {
  it.each([
    [["inspect", "a.gguf", "b.gguf"], "b.gguf"],
    [["tokenize", "a.gguf", "two", "words"], "words"],
    [["logits", "a.gguf", "text", "extra"], "extra"],
    [["eval", "--model", "a.gguf", "--input", "rows.jsonl", "extra"], "extra"],
  ])("rejects %j", async (argv, extra) => {
    const result = await runMain(...argv);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(`unexpected argument "${extra}"`);
    expect(result.stderr).toContain(`tokenjudge ${argv[0]} --help`);
  });

  it.each([
    [["tokenize", "a.gguf"], "TEXT"],
    [["logits", "a.gguf"], "TEXT"],
    [["inspect"], "MODEL"],
    [["eval", "--input", "rows.jsonl"], "--model"],
  ])("reports a missing argument in %j as a usage error", async (argv, missing) => {
    const result = await runMain(...argv);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`missing ${missing}`);
  });

  it.each([
    [["logits", "a.gguf", "text", "--top", "0"], "--top must be a positive integer"],
    [["logits", "a.gguf", "text", "--backend", "gpu"], '--backend must be "cpu" or "webgpu"'],
  ])("reports the bad flag value in %j as a usage error", async (argv, message) => {
    const result = await runMain(...argv);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
  });

  it("points an unknown option to the command's help", async () => {
    const result = await runMain("inspect", "a.gguf", "--colour");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("--colour");
    expect(result.stderr).toContain("tokenjudge inspect --help");
  });
});

describe("bin script", () => {
  it("exits 0 for eval --help", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [BIN, "eval", "--help"]);
    expect(stdout).toContain("Usage: tokenjudge eval");
  }, 60_000);
});
