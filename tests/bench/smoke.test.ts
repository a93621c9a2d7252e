// One small end-to-end pass of the bench helpers on a tiny model: generation into a temporary
// folder, every backend's load and prefill, and the report tables. It checks what was measured,
// never how fast.

import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import type { BackendName } from "../../src/bench/backend.js";
import { createBenchContext } from "../../src/bench/backend-webgpu.js";
import { adapterInfo, machineInfo } from "../../src/bench/machine.js";
import { ensureBenchModel, type BenchModelDefinition } from "../../src/bench/models.js";
import { runPrefillBench, type PrefillBenchResults } from "../../src/bench/prefill.js";
import { renderSection } from "../../src/bench/report.js";
import { buildSection } from "../../src/bench/section.js";
import { loadTable, prefillTable } from "../../src/bench/tables.js";
import { GGMLType } from "../../src/gguf/types.js";
import type { GPUContext } from "../../src/gpu/context.js";

const VOCAB_SIZE = 512;

const TINY: BenchModelDefinition = {
  name: "bench-smoke-q8_0",
  quant: "q8_0",
  spec: {
    architecture: "llama",
    vocabulary: "llama3-bpe",
    preTokenizer: "smollm",
    seed: 7,
    nEmbd: 64,
    nLayer: 2,
    nHead: 2,
    nHeadKv: 1,
    headDim: 32,
    nFf: 128,
    contextLength: 256,
    ropeBase: 100000,
    rmsEps: 1e-5,
    weightType: GGMLType.Q8_0,
    tiedOutput: true,
  },
  vocabSize: VOCAB_SIZE,
};

let context: GPUContext | undefined;
try {
  context = await createBenchContext();
} catch (error) {
  console.warn(`bench smoke test runs without the webgpu backend: ${(error as Error).message}`);
}
const backends: BackendName[] = context ? ["webgpu", "llamacpp", "reference"] : ["llamacpp", "reference"];

const dir = await mkdtemp(join(tmpdir(), "tokenjudge-bench-"));

describe("bench on a tiny model", () => {
  let path = "";
  let results: PrefillBenchResults;

  afterAll(async () => {
    context?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  it("generates the model once", async () => {
    path = await ensureBenchModel(TINY, { dir });
    const first = await stat(path);
    const again = await ensureBenchModel(TINY, { dir });
    expect(again).toBe(path);
    expect((await stat(path)).mtimeMs).toBe(first.mtimeMs);
  });

  it("measures every backend", async () => {
    results = await runPrefillBench({
      models: [{ label: "tiny", quant: "Q8_0", path }],
      backends,
      lengths: [12, 4],
      referenceMaxTokens: 4,
      counts: { warmup: 1, runs: 2 },
      seed: 3,
      promptIdLimit: VOCAB_SIZE - 2,
      context,
    });

    expect(results.loads.map((entry) => entry.backend)).toEqual(backends);
    expect(results.prefills).toHaveLength(2 * backends.length - 1);
    expect(results.skipped).toEqual(["Q8_0 reference 12 tokens (longer than the reference limit of 4 tokens)"]);
    expect(results.prefills.map((entry) => entry.tokens)).toEqual([...backends.map(() => 4), ...backends.slice(0, -1).map(() => 12)]);

    for (const entry of results.prefills) {
      expect(entry.samplesMs, `${entry.backend} ${entry.tokens}`).toHaveLength(2);
      expect(entry.medianMs, `${entry.backend} ${entry.tokens}`).toBeGreaterThan(0);
      expect(entry.tokensPerSecond, `${entry.backend} ${entry.tokens}`).toBeCloseTo((entry.tokens * 1000) / entry.medianMs, 6);
    }
  });

  it("agrees on the top token", () => {
    for (const length of [4, 12]) {
      const tops = results.prefills.filter((entry) => entry.tokens === length).map((entry) => `${entry.backend}=${entry.topToken}`);
      const distinct = new Set(results.prefills.filter((entry) => entry.tokens === length).map((entry) => entry.topToken));
      expect(distinct.size, `${length} tokens: ${tops.join(", ")}`).toBe(1);
    }
  });

  it("counts GPU weight memory", () => {
    const webgpu = results.loads.find((entry) => entry.backend === "webgpu");
    if (!webgpu) return;
    // Repacking changes the layout but not the order of magnitude of the quantized bytes.
    expect(webgpu.weightBytes).toBeGreaterThan(webgpu.fileBytes / 2);
    expect(webgpu.weightBytes).toBeLessThan(webgpu.fileBytes * 4);
  });

  it("renders the report tables", () => {
    const prefill = prefillTable(results);
    const load = loadTable(results);
    expect(prefill.rows).toHaveLength(results.prefills.length);
    expect(load.rows).toHaveLength(backends.length);
    expect(prefill.description?.join(" ")).toContain("Not measured: Q8_0 reference 12 tokens");

    const section = buildSection({
      date: new Date("2026-01-02T03:04:05Z"),
      args: ["--quick"],
      machine: machineInfo(),
      adapter: context ? adapterInfo(context) : undefined,
      loadAverage: { start: 0, end: 0 },
      modelNotes: ["- Models: tiny"],
      tables: [prefill, load],
    });
    const text = renderSection(section);
    expect(text).toContain("- Command: `npm run bench -- --quick`");
    expect(text).toContain("### Prefill");
    expect(text).toContain("### Model load");
    if (context?.isSoftwareAdapter) expect(text).toContain("software adapter");
  });
});
