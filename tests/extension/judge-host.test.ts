// The extension's model host in Node, on the generated demo model. A CPU Judge in this process
// replaces the worker judge, so the backend choice, the fallback reasons, custom metric
// registration and the error replies can be checked without a browser.

import { readFile } from "node:fs/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { JudgeHost } from "../../extension/src/judge-host.js";
import { MAX_TEXT_CHARACTERS, prepareText } from "../../extension/src/messages.js";
import { DEFAULT_DEMO_FIXTURE, ensureFixture } from "../../src/fixtures/registry.js";
import { Judge, TOXICITY, type MetricDefinition } from "../../src/metrics/index.js";
import type { WorkerJudge, WorkerJudgeOptions } from "../../src/worker/judge-client.js";

const MODEL_URL = "chrome-extension://test/models/demo.gguf";
const TEXT = "You are a worthless idiot and everyone hates you.";
const METRICS = ["toxicity", "pii"];
const RUDE: MetricDefinition = { ...TOXICITY, id: "rude", description: "Whether the text is rude." };

let modelPath: string;
let modelBytes: Uint8Array<ArrayBuffer>;

beforeAll(async () => {
  modelPath = await ensureFixture(DEFAULT_DEMO_FIXTURE);
  const file = await readFile(modelPath);
  modelBytes = new Uint8Array(file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength));
}, 300_000);

/** A GPU whose adapter exists but whose judge creation fails, as on a browser with a broken driver. */
const BROKEN_GPU = {
  requestAdapter: async () => ({ info: { vendor: "test", architecture: "", device: "", description: "test adapter" }, features: new Set<string>() }),
} as unknown as GPU;

/** Serves the model bytes for MODEL_URL and 404 for anything else. */
const serveModel: typeof fetch = async (input) => (String(input) === MODEL_URL ? new Response(modelBytes) : new Response("missing", { status: 404 }));

/** Creates judges in this process: the CPU backend works, the WebGPU one fails. Counts register calls. */
function inProcessJudges(): { createJudge: (options: WorkerJudgeOptions) => Promise<WorkerJudge>; registered: string[] } {
  const registered: string[] = [];
  const createJudge = async (options: WorkerJudgeOptions): Promise<WorkerJudge> => {
    if (options.backend === "webgpu") throw new Error("device creation failed in the test");
    const judge = await Judge.create({ model: modelPath, backend: "cpu" });
    return {
      get metricIds() {
        return judge.metricIds;
      },
      get closed() {
        return false;
      },
      register: async (definition, registerOptions) => {
        registered.push((definition as MetricDefinition).id);
        await judge.register(definition, registerOptions);
      },
      evaluate: (content, evaluateOptions) => judge.evaluate(content, evaluateOptions),
      renderPrompt: async (content, id) => judge.renderPrompt(content, id),
      dispose: async () => judge.dispose(),
    };
  };
  return { createJudge, registered };
}

describe("extension judge host", () => {
  it("falls back after a WebGPU failure", async () => {
    const host = JudgeHost.start({ modelUrl: MODEL_URL, gpu: BROKEN_GPU, fetch: serveModel, ...inProcessJudges() });
    const status = await host.status();
    expect(status.state).toBe("ready");
    expect(status.backend).toBe("cpu");
    expect(status.webgpu).toBe(true);
    expect(status.fallbackReason).toBe("the WebGPU backend failed to load the model (device creation failed in the test)");

    const reply = await host.evaluate(TEXT, METRICS, []);
    const judge = await Judge.create({ model: modelPath, backend: "cpu" });
    const expected = await judge.evaluate({ input: TEXT }, { metrics: METRICS });
    expect(reply.ok).toBe(true);
    if (!reply.ok) return;
    expect(reply.backend).toBe("cpu");
    expect(reply.results.map(({ metric, verdict, probabilities }) => ({ metric, verdict, probabilities }))).toEqual(
      expected.map(({ metric, verdict, probabilities }) => ({ metric, verdict, probabilities })),
    );
  });

  it("reports why WebGPU is unavailable", async () => {
    const host = JudgeHost.start({ modelUrl: MODEL_URL, gpu: undefined, fetch: serveModel, ...inProcessJudges() });
    expect(host.currentStatus().state).toBe("loading");
    const status = await host.status();
    expect(status.state).toBe("ready");
    expect(status.backend).toBe("cpu");
    expect(status.webgpu).toBe(false);
    expect(status.fallbackReason).toMatch(/^navigator\.gpu is undefined/);
  });

  it("reports a missing model", async () => {
    const host = JudgeHost.start({ modelUrl: "chrome-extension://test/models/missing.gguf", gpu: undefined, fetch: serveModel, ...inProcessJudges() });
    const status = await host.status();
    expect(status.state).toBe("failed");
    expect(status.error?.name).toBe("IOError");
    expect(status.error?.message).toBe("chrome-extension://test/models/missing.gguf: reading the bundled model failed with HTTP 404; rebuild the extension with npm run build:extension and reload it");

    const reply = await host.evaluate(TEXT, METRICS, []);
    expect(reply).toEqual({ ok: false, error: status.error });
  });

  it("re-registers only changed metrics", async () => {
    const judges = inProcessJudges();
    const host = JudgeHost.start({ modelUrl: MODEL_URL, gpu: undefined, fetch: serveModel, ...judges });

    const registration = await host.register([RUDE]);
    expect(registration).toMatchObject({ ok: true, metricIds: expect.arrayContaining(["rude"]) });
    expect(host.currentStatus().metricIds).toContain("rude");
    const first = await host.evaluate(TEXT, ["rude"], [RUDE]);
    expect(first).toMatchObject({ ok: true, results: [{ metric: "rude" }] });
    expect(judges.registered).toEqual(["rude"]);

    const changed = { ...RUDE, version: "1.0.1" };
    const second = await host.evaluate(TEXT, ["rude"], [changed]);
    expect(second).toMatchObject({ ok: true, results: [{ metric: "rude", version: "1.0.1" }] });
    expect(judges.registered).toEqual(["rude", "rude"]);
  });

  it("rejects a local adapter file", async () => {
    const host = JudgeHost.start({ modelUrl: MODEL_URL, gpu: undefined, fetch: serveModel, ...inProcessJudges() });
    const local: MetricDefinition = { ...RUDE, adapter: { file: "/tmp/adapter.gguf", sha256: "0".repeat(64), mode: "activated", format: "gguf" } };
    const reply = await host.register([local]);
    expect(reply.ok).toBe(false);
    if (reply.ok) return;
    expect(reply.error.name).toBe("MetricDefinitionError");
    expect(reply.error.message).toContain("an extension cannot read local files; serve the adapter over https and set adapter.url instead");
  });

  it("recovers after a failed request", async () => {
    const host = JudgeHost.start({ modelUrl: MODEL_URL, gpu: undefined, fetch: serveModel, ...inProcessJudges() });
    const failed = await host.evaluate(TEXT, ["no-such-metric"], []);
    expect(failed).toMatchObject({ ok: false, error: { name: "InvalidInputError", code: "INVALID_INPUT" } });

    const next = await host.evaluate(TEXT, ["toxicity"], []);
    expect(next.ok).toBe(true);
  });
});

describe("extension text preparation", () => {
  it("collapses blank lines and trailing spaces", () => {
    expect(prepareText("  Title  \r\n\r\n\r\n\nBody line   \nNext\n\n\n")).toEqual({ text: "Title\n\nBody line\nNext", cut: false });
  });

  it("cuts text at the character limit", () => {
    const prepared = prepareText("a".repeat(MAX_TEXT_CHARACTERS + 10));
    expect(prepared.cut).toBe(true);
    expect(prepared.text).toHaveLength(MAX_TEXT_CHARACTERS);
  });
});
