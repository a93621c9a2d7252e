// The demo engine in Node on the generated demo model. Its judges run behind createWorkerJudge
// with the judge worker API on the other end of a real MessageChannel, so progress, typed errors
// and aborts cross the same boundary as in the browser. Results must equal a Judge created
// directly; on WebGPU (SwiftShader) a custom metric with a LoRA adapter must work too.

import * as Comlink from "comlink";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEngine, type EngineProgress } from "../../src/app/engine.js";
import { AbortError, GGUFFormatError, InvalidInputError, MetricDefinitionError, TemplateSlotError } from "../../src/errors.js";
import { DEFAULT_DEMO_FIXTURE, ensureFixture } from "../../src/fixtures/registry.js";
import { GGUFFile } from "../../src/gguf/reader.js";
import { getGPU } from "../../src/gpu/device.js";
import { openFileSource } from "../../src/io/node-file.js";
import { Judge, TOXICITY, type MetricDefinition, type MetricResult } from "../../src/metrics/index.js";
import { readModelConfig } from "../../src/model/config.js";
import { sha256Hex } from "../../src/adapters/sha256.js";
import { writeFixtureAdapters } from "../../src/oracle/adapter-folder.js";
import { installErrorTransfer } from "../../src/runtime/error-transfer.js";
import type { WorkerLike } from "../../src/worker/client.js";
import { createWorkerJudge, type WorkerJudge, type WorkerJudgeOptions } from "../../src/worker/judge-client.js";
import { createJudgeWorkerApi } from "../../src/worker/judge-worker-api.js";
import { openTestContext } from "../gpu/helpers.js";

installErrorTransfer();

// Only probes for a WebGPU adapter (and points Dawn at SwiftShader); the judges create their own contexts.
const testGPU = await openTestContext();
testGPU.ctx?.dispose();

const CONTENT = { input: "You are a worthless idiot and everyone hates you." };
const METRICS = ["toxicity", "prompt-injection", "pii"];
// The WebGPU kernels and the CPU reference sum float32 values in different orders.
const WEBGPU_PROBABILITY_ATOL = 2e-3;

/** A Worker stand-in whose messages go through one port of a MessageChannel. */
class PortWorker extends EventTarget implements WorkerLike {
  constructor(private readonly port: MessagePort) {
    super();
  }

  postMessage(message: unknown, transfer: Transferable[] = []): void {
    this.port.postMessage(message, transfer);
  }

  override addEventListener(type: string, listener: EventListenerOrEventListenerObject | null): void {
    if (type === "message") this.port.addEventListener(type, listener as EventListener);
    else super.addEventListener(type, listener);
  }

  override removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null): void {
    if (type === "message") this.port.removeEventListener(type, listener as EventListener);
    else super.removeEventListener(type, listener);
  }

  start(): void {
    this.port.start();
  }

  terminate(): void {
    this.port.close();
  }
}

const channels: MessageChannel[] = [];
afterAll(() => {
  for (const channel of channels.splice(0)) {
    channel.port1.close();
    channel.port2.close();
  }
});

/** Creates worker judges whose "worker" is the judge worker API on the other end of a MessageChannel. */
function judgesOverChannel(): (options: WorkerJudgeOptions) => Promise<WorkerJudge> {
  return (options) => {
    const channel = new MessageChannel();
    channels.push(channel);
    Comlink.expose(createJudgeWorkerApi(), channel.port1);
    return createWorkerJudge({ ...options, worker: new PortWorker(channel.port2) });
  };
}

function expectSameResults(actual: MetricResult[], expected: MetricResult[], atol: number): void {
  expect(actual.map((result) => result.metric)).toEqual(expected.map((result) => result.metric));
  for (const [i, result] of actual.entries()) {
    const reference = expected[i]!;
    expect(result.verdict, result.metric).toBe(reference.verdict);
    expect(result.tokens, result.metric).toBe(reference.tokens);
    for (const [label, probability] of Object.entries(reference.probabilities)) {
      expect(Math.abs(result.probabilities[label]! - probability), `${result.metric} ${label}`).toBeLessThanOrEqual(atol);
    }
  }
}

let path: string;
let model: Blob;
let reference: Judge;

beforeAll(async () => {
  path = await ensureFixture(DEFAULT_DEMO_FIXTURE);
  const bytes = await readFile(path);
  model = new Blob([new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)]);
  reference = await Judge.create({ model: path, backend: "cpu" });
}, 300_000);

describe("demo engine on the CPU", () => {
  it("loads a file and matches a Judge", async () => {
    const engine = createEngine({ gpu: undefined, createJudge: judgesOverChannel() });
    const progress: EngineProgress[] = [];
    const info = await engine.load({ kind: "file", file: model, name: "demo.gguf" }, { onProgress: (report) => progress.push(report) });

    expect(info.backend).toBe("cpu");
    expect(info.fallbackReason).toContain("navigator.gpu is undefined");
    expect(info.name).toBe("demo.gguf");
    expect(info.architecture).toBe("qwen3");
    expect(info.bytes).toBe(model.size);
    expect(info.fromCache).toBe(false);
    expect(info.metrics).toEqual(expect.arrayContaining(METRICS));
    expect(progress.map((report) => report.stage)).toEqual(["weights", "weights", "ready"]);

    const expected = await reference.evaluate(CONTENT, { metrics: METRICS });
    const actual = await engine.evaluate(CONTENT, { metrics: METRICS });
    expectSameResults(actual, expected, 0);
    await engine.dispose();
  });

  it("downloads a URL with byte progress", async () => {
    const chunks = [new Uint8Array(await model.slice(0, 1_000_000).arrayBuffer()), new Uint8Array(await model.slice(1_000_000).arrayBuffer())];
    const fetchModel: typeof fetch = async () => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (const chunk of chunks) controller.enqueue(chunk);
          controller.close();
        },
      });
      return new Response(body, { headers: { "Content-Length": String(model.size) } });
    };
    const engine = createEngine({ gpu: undefined, createJudge: judgesOverChannel(), download: { fetch: fetchModel } });
    const progress: EngineProgress[] = [];
    const info = await engine.load({ kind: "url", url: "http://127.0.0.1:1/models/demo.gguf" }, { backend: "cpu", onProgress: (report) => progress.push(report) });

    expect(info.name).toBe("http://127.0.0.1:1/models/demo.gguf");
    expect(info.cacheWarning, "Node has no Cache API").toMatch(/Cache API is not available/);
    expect(progress.filter((report) => report.stage === "download").map((report) => report.loaded)).toEqual([0, 1_000_000, model.size]);
    expect(progress.map((report) => report.stage).slice(-3)).toEqual(["weights", "weights", "ready"]);
    const [result] = await engine.evaluate(CONTENT, { metrics: ["toxicity"] });
    expect(result?.probabilities).toEqual((await reference.evaluate(CONTENT, { metrics: ["toxicity"] }))[0]!.probabilities);
    await engine.dispose();
  });

  it("registers a custom metric and keeps error classes", async () => {
    const engine = createEngine({ gpu: undefined, createJudge: judgesOverChannel() });
    await engine.load({ kind: "file", file: model }, { backend: "cpu" });

    expect(await engine.registerMetric({ ...TOXICITY, id: "rude" })).toBe("rude");
    const [result] = await engine.evaluate(CONTENT, { metrics: ["rude"] });
    expect(result?.metric).toBe("rude");

    await expect(engine.registerMetric({ ...TOXICITY, id: "Bad Id" })).rejects.toBeInstanceOf(MetricDefinitionError);
    const slot = engine.evaluate({ input: "hi" }, { metrics: ["hallucination"] });
    await expect(slot).rejects.toBeInstanceOf(TemplateSlotError);
    await expect(slot).rejects.toMatchObject({ code: "TEMPLATE_SLOT_MISSING", slot: "context" });
    await engine.dispose();
  });

  it("rejects a file that is not GGUF before starting a worker", async () => {
    let started = 0;
    const engine = createEngine({ gpu: undefined, createJudge: (options) => (started++, judgesOverChannel()(options)) });
    await expect(engine.load({ kind: "file", file: new Blob(["not a model"]), name: "notes.gguf" })).rejects.toBeInstanceOf(GGUFFormatError);
    expect(started).toBe(0);
  });

  it("rejects evaluation before a model is loaded", async () => {
    const engine = createEngine({ gpu: undefined, createJudge: judgesOverChannel() });
    await expect(engine.evaluate(CONTENT)).rejects.toThrow(/no model is loaded; load a model first/);
    await expect(engine.registerMetric(TOXICITY)).rejects.toBeInstanceOf(InvalidInputError);
  });

  it("rejects the webgpu backend without an adapter", async () => {
    const engine = createEngine({ gpu: undefined, createJudge: judgesOverChannel() });
    await expect(engine.load({ kind: "file", file: model }, { backend: "webgpu" })).rejects.toThrow(/WebGPU backend was requested but navigator\.gpu is undefined/);
  });

  it("falls back to the CPU when the WebGPU load fails", async () => {
    const adapter = { info: { vendor: "test", architecture: "", device: "", description: "" }, features: new Set<string>() };
    const gpu = { requestAdapter: async () => adapter } as unknown as GPU;
    const overChannel = judgesOverChannel();
    const backends: string[] = [];
    const createJudge = (options: WorkerJudgeOptions): Promise<WorkerJudge> => {
      backends.push(options.backend);
      return options.backend === "webgpu" ? Promise.reject(new Error("device creation failed in the test")) : overChannel(options);
    };
    const engine = createEngine({ gpu, createJudge });

    const info = await engine.load({ kind: "file", file: model });
    expect(backends).toEqual(["webgpu", "cpu"]);
    expect(info.backend).toBe("cpu");
    expect(info.fallbackReason).toBe("the WebGPU backend failed to load the model: device creation failed in the test");
    await expect(engine.load({ kind: "file", file: model }, { backend: "webgpu" })).rejects.toThrow("device creation failed in the test");
    await engine.dispose();
  });

  it("rejects an aborted load with AbortError", async () => {
    const engine = createEngine({ gpu: undefined, createJudge: judgesOverChannel() });
    await expect(engine.load({ kind: "file", file: model }, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    await engine.dispose();
  });

  it("rejects every call after dispose", async () => {
    const engine = createEngine({ gpu: undefined, createJudge: judgesOverChannel() });
    await engine.load({ kind: "file", file: model }, { backend: "cpu" });
    await engine.dispose();
    await expect(engine.evaluate(CONTENT)).rejects.toThrow(/engine was disposed/);
    await expect(engine.probeDevice()).rejects.toBeInstanceOf(InvalidInputError);
    await expect(engine.load({ kind: "file", file: model })).rejects.toBeInstanceOf(InvalidInputError);
  });
});

describe.skipIf(!testGPU.ctx)("demo engine on WebGPU", () => {
  let adapterFolder: string;

  beforeAll(async () => {
    adapterFolder = await mkdtemp(join(tmpdir(), "tokenjudge-engine-"));
  });
  afterAll(async () => {
    await rm(adapterFolder, { recursive: true, force: true });
  });

  it("runs a custom metric with a LoRA adapter", async () => {
    const source = await openFileSource(path);
    const config = readModelConfig(await GGUFFile.open(source));
    await source.close?.();
    const adapterPath = (await writeFixtureAdapters(config, adapterFolder, "engine", [{ metric: "rude", format: "gguf" }])).rude!;
    const sha256 = await sha256Hex(new Uint8Array(await readFile(adapterPath)));
    const custom: MetricDefinition = { ...TOXICITY, id: "rude", adapter: { file: adapterPath, sha256, mode: "activated", format: "gguf" } };

    const engine = createEngine({ gpu: await getGPU(), createJudge: judgesOverChannel() });
    const progress: EngineProgress[] = [];
    const info = await engine.load({ kind: "file", file: model, name: "demo.gguf" }, { backend: "webgpu", onProgress: (report) => progress.push(report) });
    expect(info.backend).toBe("webgpu");
    expect(progress.map((report) => report.stage)).toContain("weights");
    expect(progress.at(-1)?.stage).toBe("ready");

    try {
      await engine.registerMetric(custom);
      const cpu = await Judge.create({ model: path, backend: "cpu", metrics: [...METRICS, custom] });
      const expected = await cpu.evaluate(CONTENT);
      const actual = await engine.evaluate(CONTENT, { metrics: [...METRICS, "rude"] });
      expectSameResults(actual, expected, WEBGPU_PROBABILITY_ATOL);

      // The adapter must change the score, or the check above would pass without it.
      const [plain] = await reference.evaluate(CONTENT, { metrics: ["toxicity"] });
      expect(actual.at(-1)!.score).not.toBe(plain!.score);
    } finally {
      await engine.dispose();
    }
  }, 300_000);
});
