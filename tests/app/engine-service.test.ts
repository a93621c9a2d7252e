// The demo engine's worker-side service in Node, on the generated demo model with the CPU backend:
// it must give exactly the results of a Judge created directly, and report load progress in order.

import { readFile } from "node:fs/promises";
import { beforeAll, describe, expect, it } from "vitest";
import type { EngineProgress } from "../../src/app/engine-protocol.js";
import { createEngineService, probeWebGPU } from "../../src/app/engine-service.js";
import { InvalidInputError, MetricDefinitionError, TemplateSlotError } from "../../src/errors.js";
import { DEFAULT_DEMO_FIXTURE, ensureFixture } from "../../src/fixtures/registry.js";
import { Judge, TOXICITY } from "../../src/metrics/index.js";

const CONTENT = { input: "You are a worthless idiot and everyone hates you." };
const METRICS = ["toxicity", "prompt-injection", "pii"];

let path: string;
let bytes: Uint8Array<ArrayBuffer>;

beforeAll(async () => {
  path = await ensureFixture(DEFAULT_DEMO_FIXTURE);
  const file = await readFile(path);
  bytes = new Uint8Array(file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength));
}, 300_000);

describe("engine service on the demo model", () => {
  it("matches a Judge created directly", async () => {
    const service = createEngineService({ gpu: undefined });
    const progress: EngineProgress[] = [];
    const info = await service.load({ kind: "file", file: new Blob([bytes]), name: "demo.gguf" }, { backend: "auto" }, (report) => progress.push(report));

    expect(info.backend).toBe("cpu");
    expect(info.fallbackReason).toContain("navigator.gpu is undefined");
    expect(info.architecture).toBe("qwen3");
    expect(info.bytes).toBe(bytes.byteLength);
    expect(info.metrics).toEqual(expect.arrayContaining(METRICS));
    expect(progress.map((report) => report.stage)).toEqual(["weights", "weights", "ready"]);

    const judge = await Judge.create({ model: path, backend: "cpu" });
    const expected = await judge.evaluate(CONTENT, { metrics: METRICS });
    const actual = await service.evaluate(CONTENT, { metrics: METRICS });
    expect(actual.map((result) => result.metric)).toEqual(METRICS);
    for (const [i, result] of actual.entries()) {
      expect(result.probabilities, result.metric).toEqual(expected[i]!.probabilities);
      expect(result.verdict, result.metric).toBe(expected[i]!.verdict);
      expect(result.tokens, result.metric).toBe(expected[i]!.tokens);
    }
    await service.dispose();
  });

  it("registers a custom metric and rejects an invalid one", async () => {
    const service = createEngineService({ gpu: undefined });
    await service.load({ kind: "file", file: new Blob([bytes]) }, { backend: "cpu" });

    const id = await service.registerMetric({ ...TOXICITY, id: "rude" });
    expect(id).toBe("rude");
    const [result] = await service.evaluate(CONTENT, { metrics: ["rude"] });
    expect(result?.metric).toBe("rude");

    await expect(service.registerMetric({ ...TOXICITY, id: "Bad Id" })).rejects.toBeInstanceOf(MetricDefinitionError);
    await expect(service.evaluate({ input: "hi" }, { metrics: ["hallucination"] })).rejects.toBeInstanceOf(TemplateSlotError);
  });

  it("rejects evaluation before a model is loaded", async () => {
    const service = createEngineService({ gpu: undefined });
    await expect(service.evaluate(CONTENT, {})).rejects.toBeInstanceOf(InvalidInputError);
  });

  it("rejects the webgpu backend without an adapter", async () => {
    const service = createEngineService({ gpu: undefined });
    await expect(service.load({ kind: "file", file: new Blob([bytes]) }, { backend: "webgpu" })).rejects.toThrow(/WebGPU backend was requested/);
  });
});

describe("probeWebGPU", () => {
  it("reports a missing navigator.gpu", async () => {
    const report = await probeWebGPU(undefined);
    expect(report.webgpu).toBe(false);
    expect(report.unavailableReason).toMatch(/navigator\.gpu is undefined/);
  });

  it("reports an adapter request that returns null", async () => {
    const gpu = { requestAdapter: async () => null } as unknown as GPU;
    const report = await probeWebGPU(gpu);
    expect(report.webgpu).toBe(false);
    expect(report.unavailableReason).toMatch(/returned no adapter/);
  });

  it("describes a software adapter", async () => {
    const adapter = {
      info: { vendor: "google", architecture: "swiftshader", device: "", description: "SwiftShader Device (Subzero)" },
      features: new Set(["shader-f16"]),
    };
    const gpu = { requestAdapter: async () => adapter } as unknown as GPU;
    const report = await probeWebGPU(gpu);
    expect(report.webgpu).toBe(true);
    expect(report.shaderF16).toBe(true);
    expect(report.isSoftwareAdapter).toBe(true);
    expect(report.adapter?.architecture).toBe("swiftshader");
  });
});
