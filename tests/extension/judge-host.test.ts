// The extension's model host in Node, on the generated demo model. A CPU Judge in this process
// replaces the worker judge, so the backend choice, the fallback reasons, custom metric
// registration and the error replies can be checked without a browser.

import { readFile } from "node:fs/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { JudgeHost } from "../../extension/src/judge-host.js";
import { excerptOf, isChannelClosedError, MAX_TEXT_CHARACTERS, ModelHostClosedError, prepareText, toErrorReport } from "../../extension/src/messages.js";
import { pickTabText } from "../../extension/src/page-text.js";
import { contentSlots } from "../../src/metrics/prompt.js";
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

const STALLED_URL = "https://adapters.test/stalled.gguf";
const HUGE_URL = "https://adapters.test/huge.gguf";
const STALLED: MetricDefinition = { ...TOXICITY, id: "stalled", adapter: { url: STALLED_URL, sha256: "0".repeat(64), mode: "activated", format: "gguf" } };
const HUGE: MetricDefinition = { ...TOXICITY, id: "huge", adapter: { url: HUGE_URL, sha256: "0".repeat(64), mode: "activated", format: "gguf" } };
const NEEDS_OUTPUT: MetricDefinition = { ...TOXICITY, id: "needs-output", template: { ...TOXICITY.template, content: "Text:\n{input}\nReply:\n{output}" } };

/**
 * Serves the model, an adapter whose body never arrives (STALLED_URL) and one that declares 30 MiB
 * (HUGE_URL). Records every URL requested.
 */
function serveAdapters(): { fetch: typeof fetch; requested: string[] } {
  const requested: string[] = [];
  const fetchFunction = (async (input: RequestInfo | URL) => {
    const url = String(input);
    requested.push(url);
    if (url === STALLED_URL) return new Response(new ReadableStream({ start: () => undefined }));
    if (url === HUGE_URL) return new Response(new Uint8Array(16), { headers: { "content-length": String(30 * 1024 * 1024) } });
    return serveModel(input);
  }) as typeof fetch;
  return { fetch: fetchFunction, requested };
}

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

describe("extension judge host failures", () => {
  it("registers only selected metrics", async () => {
    const judges = inProcessJudges();
    const server = serveAdapters();
    const host = JudgeHost.start({ modelUrl: MODEL_URL, gpu: undefined, ...server, ...judges });

    const reply = await host.evaluate(TEXT, ["toxicity"], [RUDE, STALLED]);
    expect(reply).toMatchObject({ ok: true, results: [{ metric: "toxicity" }] });
    expect(judges.registered).toEqual([]);
    expect(server.requested).toEqual([MODEL_URL]);
  });

  it("times out a stalled adapter", async () => {
    const server = serveAdapters();
    const host = JudgeHost.start({ modelUrl: MODEL_URL, gpu: undefined, ...server, ...inProcessJudges(), adapterDownloadTimeoutMs: 1_500 });
    await host.status();

    let stalledSettled = false;
    const stalled = host.evaluate(TEXT, ["toxicity", "stalled"], [STALLED]).finally(() => (stalledSettled = true));
    // A check that does not select the stalled metric runs while its download waits.
    const other = await host.evaluate(TEXT, ["pii"], [STALLED]);
    expect(other).toMatchObject({ ok: true, results: [{ metric: "pii" }] });
    expect(stalledSettled).toBe(false);

    const reply = await stalled;
    expect(reply.ok).toBe(true);
    if (!reply.ok) return;
    expect(reply.results.map((result) => result.metric)).toEqual(["toxicity"]);
    expect(reply.failures).toHaveLength(1);
    expect(reply.failures![0]!.metric).toBe("stalled");
    expect(reply.failures![0]!.error.name).toBe("DownloadTimeoutError");
    expect(reply.failures![0]!.error.message).toContain(STALLED_URL);
  });

  it("rejects an adapter above the size limit", async () => {
    const host = JudgeHost.start({ modelUrl: MODEL_URL, gpu: undefined, ...serveAdapters(), ...inProcessJudges(), adapterDownloadMaxBytes: 1024 * 1024 });
    const reply = await host.register([HUGE]);
    expect(reply.ok).toBe(false);
    if (reply.ok) return;
    expect(reply.error.name).toBe("DownloadTooLargeError");
    expect(reply.error.code).toBe("IO_FAILED");
    expect(reply.error.message).toContain(HUGE_URL);
    expect(reply.error.message).toContain(String(30 * 1024 * 1024));
  });

  it("keeps results beside a failing metric", async () => {
    const host = JudgeHost.start({ modelUrl: MODEL_URL, gpu: undefined, fetch: serveModel, ...inProcessJudges() });
    const reply = await host.evaluate(TEXT, ["toxicity", "needs-output"], [NEEDS_OUTPUT]);
    expect(reply.ok).toBe(true);
    if (!reply.ok) return;
    expect(reply.results.map((result) => result.metric)).toEqual(["toxicity"]);
    expect(reply.failures).toHaveLength(1);
    expect(reply.failures![0]).toMatchObject({ metric: "needs-output", error: { name: "TemplateSlotError", code: "TEMPLATE_SLOT_MISSING" } });
  });

  it("fails when every metric fails", async () => {
    const host = JudgeHost.start({ modelUrl: MODEL_URL, gpu: undefined, fetch: serveModel, ...inProcessJudges() });
    const reply = await host.evaluate(TEXT, ["needs-output"], [NEEDS_OUTPUT]);
    expect(reply).toMatchObject({ ok: false, error: { name: "TemplateSlotError" } });
  });
});

describe("extension text preparation", () => {
  it("keeps a surrogate pair whole at the cut", () => {
    const prepared = prepareText("\u{1F600}".repeat(10) + "a".repeat(MAX_TEXT_CHARACTERS - 1));
    expect(prepared.cut).toBe(true);
    expect(prepared.text).toBe("a".repeat(MAX_TEXT_CHARACTERS - 1));
    expect(() => contentSlots({ input: prepared.text })).not.toThrow();
  });

  it("replaces lone surrogates", () => {
    const prepared = prepareText("left \uD83D right \uDE00 end");
    expect(prepared.text).toBe("left \uFFFD right \uFFFD end");
    expect(() => contentSlots({ input: prepared.text })).not.toThrow();
  });

  it("keeps a surrogate pair whole in the excerpt", () => {
    const excerpt = excerptOf("b".repeat(158) + "\u{1F600}\u{1F600}");
    expect(excerpt).toBe(`${"b".repeat(158)}…`);
    expect(excerptOf("b".repeat(157) + "\u{1F600}\u{1F600}")).toBe(`${"b".repeat(157)}\u{1F600}…`);
  });

  it("collapses blank lines and trailing spaces", () => {
    expect(prepareText("  Title  \r\n\r\n\r\n\nBody line   \nNext\n\n\n")).toEqual({ text: "Title\n\nBody line\nNext", cut: false });
  });

  it("keeps the end at the character limit", () => {
    const prepared = prepareText("b".repeat(10) + "a".repeat(MAX_TEXT_CHARACTERS));
    expect(prepared.cut).toBe(true);
    expect(prepared.text).toBe("a".repeat(MAX_TEXT_CHARACTERS));
  });
});

describe("extension tab text choice", () => {
  const main = { text: "", title: "Main", url: "https://example.test/" };

  it("prefers the main frame's selection", () => {
    const picked = pickTabText([
      { frameId: 3, text: { text: "frame text", title: "Frame", url: "https://frame.test/" } },
      { frameId: 0, text: { ...main, text: "main text" } },
    ]);
    expect(picked).toEqual({ ...main, text: "main text" });
  });

  it("takes the first non-empty frame selection", () => {
    const picked = pickTabText([
      { frameId: 0, text: main },
      { frameId: 2, text: { text: "  ", title: "Blank", url: "https://blank.test/" } },
      { frameId: 5, text: undefined },
      { frameId: 7, text: { text: "inside the frame", title: "Frame", url: "https://frame.test/" } },
    ]);
    expect(picked).toEqual({ ...main, text: "inside the frame" });
  });

  it("returns empty text without results", () => {
    expect(pickTabText([])).toEqual({ text: "", title: "", url: "" });
  });
});

describe("extension closed offscreen document", () => {
  it("recognizes Chrome's closed channel error", () => {
    const chromeError = new Error("A listener indicated an asynchronous response by returning true, but the message channel closed before a response was received");
    expect(isChannelClosedError(chromeError)).toBe(true);
    expect(isChannelClosedError(new Error("Could not establish connection. Receiving end does not exist."))).toBe(false);
  });

  it("reports a typed error with a next step", () => {
    const report = toErrorReport(new ModelHostClosedError("evaluate"));
    expect(report.name).toBe("ModelHostClosedError");
    expect(report.code).toBe("MODEL_HOST_CLOSED");
    expect(report.message).toContain('"evaluate"');
    expect(report.message).toContain("run the check again");
  });
});
