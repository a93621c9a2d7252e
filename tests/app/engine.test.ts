// The main-thread engine and the engine service connected through a real MessageChannel in Node:
// progress callbacks, typed errors, aborts and dispose cross the boundary as in the browser.

import * as Comlink from "comlink";
import { readFile } from "node:fs/promises";
import { beforeAll, describe, expect, it } from "vitest";
import { createEngine, type EngineProgress, type EngineWorkerLike } from "../../src/app/engine.js";
import { createEngineService } from "../../src/app/engine-service.js";
import { AbortError, TemplateSlotError } from "../../src/errors.js";
import { DEFAULT_DEMO_FIXTURE, ensureFixture } from "../../src/fixtures/registry.js";
import { WorkerCrashedError } from "../../src/runtime/errors.js";
import { installErrorTransfer } from "../../src/runtime/error-transfer.js";

installErrorTransfer();

/** Wraps one end of a MessageChannel as the Worker that `createEngine` expects. */
class PortWorker extends EventTarget implements EngineWorkerLike {
  terminated = false;

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
    this.terminated = true;
    this.port.close();
  }
}

/** Starts an engine whose "worker" is an engine service on the other end of a MessageChannel. */
function connectedEngine(): { engine: ReturnType<typeof createEngine>; worker: PortWorker } {
  const channel = new MessageChannel();
  Comlink.expose(createEngineService({ gpu: undefined }), channel.port2);
  const worker = new PortWorker(channel.port1);
  return { engine: createEngine(worker), worker };
}

let model: Blob;

beforeAll(async () => {
  const bytes = await readFile(await ensureFixture(DEFAULT_DEMO_FIXTURE));
  model = new Blob([new Uint8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))]);
}, 300_000);

describe("createEngine over a MessageChannel", () => {
  it("loads with progress and evaluates", async () => {
    const { engine } = connectedEngine();
    const progress: EngineProgress[] = [];
    const info = await engine.load({ kind: "file", file: model, name: "demo.gguf" }, { onProgress: (report) => progress.push(report) });
    expect(info.backend).toBe("cpu");
    expect(info.name).toBe("demo.gguf");

    // Progress reports travel on the proxy's own port, so the last one may arrive after the load settles.
    await expect.poll(() => progress.at(-1)?.stage).toBe("ready");
    const [result] = await engine.evaluate({ input: "hello there" }, { metrics: ["toxicity"] });
    expect(result?.metric).toBe("toxicity");
    expect(Object.keys(result?.probabilities ?? {})).toEqual(["toxic", "not_toxic"]);
    await engine.dispose();
  });

  it("keeps error classes across the boundary", async () => {
    const { engine } = connectedEngine();
    await engine.load({ kind: "file", file: model }, { backend: "cpu" });
    const failure = engine.evaluate({ input: "x" }, { metrics: ["hallucination"] });
    await expect(failure).rejects.toBeInstanceOf(TemplateSlotError);
    await expect(failure).rejects.toMatchObject({ code: "TEMPLATE_SLOT_MISSING", slot: "context" });
    await engine.dispose();
  });

  it("rejects an aborted call with AbortError", async () => {
    const { engine } = connectedEngine();
    const controller = new AbortController();
    controller.abort();
    await expect(engine.load({ kind: "file", file: model }, { signal: controller.signal })).rejects.toBeInstanceOf(AbortError);
    await engine.dispose();
  });

  it("rejects every call after dispose", async () => {
    const { engine, worker } = connectedEngine();
    await engine.dispose();
    expect(worker.terminated).toBe(true);
    await expect(engine.probeDevice()).rejects.toBeInstanceOf(WorkerCrashedError);
  });
});
