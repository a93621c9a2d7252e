// The worker client and the worker-side API, connected through a real MessageChannel in Node,
// with a stand-in runtime so each behaviour can be triggered on purpose.

import * as Comlink from "comlink";
import { afterEach, describe, expect, it } from "vitest";
import { AbortError, InvalidInputError, TokenjudgeError } from "../../src/errors.js";
import type { ModelConfig } from "../../src/model/config.js";
import { WorkerCrashedError } from "../../src/runtime/errors.js";
import { installErrorTransfer } from "../../src/runtime/error-transfer.js";
import type { LoadProgress } from "../../src/runtime/progress.js";
import type { LogitsResult, RuntimeInfo, TokenjudgeRuntime } from "../../src/runtime/types.js";
import { createWorkerRuntime, type WorkerLike } from "../../src/worker/client.js";
import { createWorkerApi } from "../../src/worker/worker-api.js";

installErrorTransfer();

/** A Worker stand-in: messages go through a MessagePort, `error` events are dispatched by the test. */
class PortWorker extends EventTarget implements WorkerLike {
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

const CONFIG = { architecture: "llama", vocabSize: 8 } as unknown as ModelConfig;

/** A runtime whose behaviour each test sets; it records the signals it was given. */
class StubRuntime implements TokenjudgeRuntime {
  signals: Array<AbortSignal | undefined> = [];
  logitsImpl: (signal: AbortSignal | undefined) => Promise<LogitsResult> = async () => ({
    logits: Float32Array.of(1, 2),
    logProbs: Float32Array.of(-1.31, -0.31),
    top: [{ token: 5, logit: 2, logProb: -0.31 }],
  });

  async loadModel(_source: unknown, options: { onProgress?: (p: LoadProgress) => void; signal?: AbortSignal } = {}): Promise<ModelConfig> {
    this.signals.push(options.signal);
    options.onProgress?.({ status: "download", loaded: 10, total: 10, elapsedMs: 1 });
    options.onProgress?.({ status: "ready", loaded: 1, total: 1, elapsedMs: 2 });
    return CONFIG;
  }

  logits(_tokens: number[], options: { signal?: AbortSignal } = {}): Promise<LogitsResult> {
    this.signals.push(options.signal);
    return this.logitsImpl(options.signal);
  }

  async info(): Promise<RuntimeInfo> {
    return { adapter: undefined, features: [], isSoftwareAdapter: true, model: CONFIG };
  }

  async dispose(): Promise<void> {}
}

const channels: MessageChannel[] = [];
afterEach(() => {
  for (const channel of channels.splice(0)) {
    channel.port1.close();
    channel.port2.close();
  }
});

function connect(runtime: TokenjudgeRuntime): { worker: PortWorker; client: ReturnType<typeof createWorkerRuntime> } {
  const channel = new MessageChannel();
  channels.push(channel);
  Comlink.expose(createWorkerApi(runtime), channel.port1);
  const worker = new PortWorker(channel.port2);
  return { worker, client: createWorkerRuntime({ worker }) };
}

describe("worker runtime client", () => {
  it("forwards progress through a proxy", async () => {
    const { client } = connect(new StubRuntime());
    const seen: LoadProgress[] = [];

    const config = await client.loadModel({ bytes: new Uint8Array(4) }, { onProgress: (p) => seen.push(p) });
    await new Promise((resolve) => setTimeout(resolve, 20)); // progress messages are not awaited by the worker

    expect(config).toEqual(CONFIG);
    expect(seen.map((p) => p.status)).toEqual(["download", "ready"]);
  });

  it("returns logits as typed arrays", async () => {
    const { client } = connect(new StubRuntime());

    const result = await client.logits([1, 2], { topK: 1 });

    expect(result.logits).toBeInstanceOf(Float32Array);
    expect([...result.logits]).toEqual([1, 2]);
    expect(result.top[0]?.token).toBe(5);
  });

  it("rethrows runtime errors with their class", async () => {
    const runtime = new StubRuntime();
    runtime.logitsImpl = async () => {
      throw new InvalidInputError("logits: no model is loaded; call loadModel() first");
    };
    const { client } = connect(runtime);

    const error = await client.logits([1]).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as TokenjudgeError).code).toBe("INVALID_INPUT");
  });

  it("forwards abort to the worker", async () => {
    const runtime = new StubRuntime();
    runtime.logitsImpl = (signal) =>
      new Promise((_, reject) => signal?.addEventListener("abort", () => reject(new AbortError("stub saw the abort"))));
    const { client } = connect(runtime);
    const controller = new AbortController();

    const pending = client.logits([1], { signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort();

    await expect(pending).rejects.toBeInstanceOf(AbortError);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(runtime.signals[0]?.aborted).toBe(true);
  });

  it("rejects an already aborted call without sending it", async () => {
    const runtime = new StubRuntime();
    const { client } = connect(runtime);

    await expect(client.logits([1], { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AbortError);
    expect(runtime.signals).toHaveLength(0);
  });

  it("worker error rejects pending and later calls", async () => {
    const runtime = new StubRuntime();
    runtime.logitsImpl = () => new Promise(() => undefined);
    const { worker, client } = connect(runtime);

    const pending = client.logits([1]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    worker.dispatchEvent(Object.assign(new Event("error"), { message: "ReferenceError: boom" }));

    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkerCrashedError);
    expect((error as Error).message).toContain("ReferenceError: boom");
    expect(worker.terminated).toBe(true);
    expect(client.closed).toBe(true);
    await expect(client.info()).rejects.toBeInstanceOf(WorkerCrashedError);

    const replacement = connect(new StubRuntime()).client;
    await expect(replacement.info()).resolves.toMatchObject({ isSoftwareAdapter: true });
  });

  it("dispose terminates the worker", async () => {
    const { worker, client } = connect(new StubRuntime());

    await client.dispose();

    expect(worker.terminated).toBe(true);
    await expect(client.info()).rejects.toBeInstanceOf(WorkerCrashedError);
  });
});
