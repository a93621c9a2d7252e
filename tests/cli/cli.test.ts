// The `tokenjudge` command line, run as a user would: a child process per command.

import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { ensureFixture, fixtureUnavailableReason } from "../../src/fixtures/registry.js";
import { GGUFFile } from "../../src/gguf/reader.js";
import { openFileSource } from "../../src/io/node-file.js";
import { LlamaCppOracle } from "../../src/oracle/llama-cpp.js";
import { ReferenceModel, logSoftmax } from "../../src/reference/index.js";

const run = promisify(execFile);
const BIN = join(import.meta.dirname, "../../bin/tokenjudge.js");
const TINY = join(import.meta.dirname, "../../../shared/models/llama-2-tiny-random/llama-2-tiny-random.gguf");
const SWIFTSHADER_ICD = "/usr/lib/chromium/vk_swiftshader_icd.json";

interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function tokenjudge(...args: string[]): Promise<CommandResult> {
  const env = { ...process.env };
  if (env.VK_ICD_FILENAMES === undefined && existsSync(SWIFTSHADER_ICD)) env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failure = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failure.code ?? -1, stdout: failure.stdout ?? "", stderr: failure.stderr ?? "" };
  }
}

const storiesMissing = fixtureUnavailableReason("stories260k");
if (storiesMissing) console.warn(`skipping CLI tests on stories260k: ${storiesMissing}`);

let stories = "";
let demo = "";
let workDir = "";

beforeAll(async () => {
  if (!storiesMissing) stories = await ensureFixture("stories260k");
  demo = await ensureFixture("demo-qwen3-q8_0");
  workDir = await mkdtemp(join(tmpdir(), "tokenjudge-cli-"));
});

afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe.skipIf(!existsSync(TINY))("tokenjudge on the shared tiny model", () => {
  it("inspect reports architecture and vocabulary", async () => {
    const result = await tokenjudge("inspect", TINY, "--json");
    expect(result.code).toBe(0);

    const report = JSON.parse(result.stdout);
    expect(report.architecture).toBe("llama");
    expect(report.ggufVersion).toBe(3);
    expect(report.tokenizer.kind).toBe("spm");
    expect(report.tokenizer.vocabSize).toBe(32000);
    expect(report.tensorTypes.map((entry: { type: string }) => entry.type)).toContain("F16");
  });

  it("inspect prints a readable table", async () => {
    const result = await tokenjudge("inspect", TINY);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/architecture\s+llama/);
    expect(result.stdout).toMatch(/F16\s+\d+ tensors/);
  });

  it("tokenize matches llama.cpp with BOS", async () => {
    const text = "Hello 안녕하세요 😀 </s> <s>";
    const result = await tokenjudge("tokenize", TINY, text, "--json");
    expect(result.code).toBe(0);

    const oracle = await LlamaCppOracle.load(TINY);
    try {
      const expected = [1, ...oracle.tokenize(text)];
      expect(JSON.parse(result.stdout).ids).toEqual(expected);
    } finally {
      await oracle.dispose();
    }
  });
});

describe.skipIf(storiesMissing !== undefined)("tokenjudge logits on stories260k", () => {
  it("prints the reference top-K", async () => {
    const result = await tokenjudge("logits", stories, "Once upon a time", "--top", "5", "--json");
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout);
    expect(output.top).toHaveLength(5);

    const file = await GGUFFile.open(await openFileSource(stories));
    const reference = await ReferenceModel.load(file);
    await file.source.close?.();
    const tokens: number[] = [1, ...Array.from(new TextEncoder().encode(" Once upon a time".replaceAll(" ", "\u2581")), (byte) => byte + 3)];
    const expected = logSoftmax(reference.forward(tokens).logits);
    for (const entry of output.top as { id: number; logProb: number }[]) {
      expect(entry.logProb).toBeCloseTo(expected[entry.id]!, 5);
    }
  });

  it("webgpu backend agrees with cpu", async () => {
    const cpu = JSON.parse((await tokenjudge("logits", stories, "Lily and Tom", "--top", "10", "--json")).stdout);
    const gpuResult = await tokenjudge("logits", stories, "Lily and Tom", "--top", "10", "--json", "--backend", "webgpu");
    expect(gpuResult.code, gpuResult.stderr).toBe(0);
    const gpu = JSON.parse(gpuResult.stdout);

    expect(gpu.device).toMatch(/^webgpu/);
    expect(gpu.top[0].id).toBe(cpu.top[0].id);
    for (let i = 0; i < cpu.top.length; i++) {
      expect(Math.abs(gpu.top[i].logProb - cpu.top[i].logProb)).toBeLessThanOrEqual(2e-3);
    }
  });

});

describe("tokenjudge logits on the demo model", () => {
  it("classes softmax over the labels only", async () => {
    const result = await tokenjudge("logits", "demo", "Is this message toxic? 😡 정말 싫어", "--classes", "Yes,No", "--json");
    expect(result.code, result.stderr).toBe(0);
    const output = JSON.parse(result.stdout);

    expect(output.top.map((entry: { piece: string }) => entry.piece)).toEqual(["Yes", "No"]);
    const total = output.top.reduce((sum: number, entry: { logProb: number }) => sum + Math.exp(entry.logProb), 0);
    expect(total).toBeCloseTo(1, 6);
  });
});

describe("tokenjudge bad input", () => {
  it("missing model file", async () => {
    const result = await tokenjudge("inspect", join(workDir, "absent.gguf"));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("model file not found");
  });

  it("truncated model file", async () => {
    const bytes = await readFile(demo);
    const truncated = join(workDir, "truncated.gguf");
    await writeFile(truncated, bytes.subarray(0, 200));

    const result = await tokenjudge("inspect", truncated);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("GGUF_INVALID");
    expect(result.stderr).toContain("truncated.gguf");
  });

  it("invalid --top value", async () => {
    const result = await tokenjudge("logits", demo, "text", "--top", "zero");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--top must be a positive integer, got "zero"');
  });

  it("class labels sharing a first token", async () => {
    const result = await tokenjudge("logits", demo, "text", "--classes", "Yes,Yesxq");
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("start with the same token");
  });

  it("unknown command", async () => {
    const result = await tokenjudge("judge");
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown command "judge"');
  });
});
