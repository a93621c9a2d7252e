// The in-thread runtime on a small fixture in Node (Dawn): load stages, scores and abort.

import { readFile } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { AbortError, InvalidInputError } from "../../src/errors.js";
import { ensureFixture, fixtureUnavailableReason } from "../../src/fixtures/registry.js";
import { GGUFFile } from "../../src/gguf/reader.js";
import { MemorySource } from "../../src/io/memory.js";
import { LOAD_STAGES, type LoadProgress } from "../../src/runtime/progress.js";
import { createRuntime } from "../../src/runtime/runtime.js";
import { logSoftmax, ReferenceModel } from "../../src/reference/index.js";
import { openTestContext } from "../gpu/helpers.js";

const FIXTURE = "stories260k";
// The probe context also points Dawn at SwiftShader when no Vulkan driver is configured.
const probe = await openTestContext();
const gpuReason = probe.skipReason;
probe.ctx?.dispose();
const skipReason = gpuReason ?? fixtureUnavailableReason(FIXTURE);
if (skipReason) console.warn(`skipping runtime tests: ${skipReason}`);

describe.skipIf(skipReason !== undefined)("createRuntime", () => {
  const runtime = createRuntime();
  afterAll(() => runtime.dispose());

  const fixtureBytes = async (): Promise<Uint8Array> => new Uint8Array(await readFile(await ensureFixture(FIXTURE)));

  it("rejects logits before a model is loaded", async () => {
    await expect(runtime.logits([1, 2])).rejects.toBeInstanceOf(InvalidInputError);
  });

  it("aborts a load during upload", async () => {
    const controller = new AbortController();
    const onProgress = (progress: LoadProgress): void => {
      if (progress.status === "upload") controller.abort();
    };

    const load = runtime.loadModel({ bytes: await fixtureBytes(), name: FIXTURE }, { onProgress, signal: controller.signal });

    await expect(load).rejects.toBeInstanceOf(AbortError);
    expect((await runtime.info()).model).toBeUndefined();
  });

  it("progress never goes backwards and ends at ready", async () => {
    const seen: LoadProgress[] = [];

    const config = await runtime.loadModel({ bytes: await fixtureBytes(), name: FIXTURE }, { onProgress: (p) => seen.push(p) });

    expect(config.architecture).toBe("llama");
    expect(new Set(seen.map((p) => p.status))).toEqual(new Set(LOAD_STAGES));
    expect(seen.at(-1)?.status).toBe("ready");
    for (let i = 1; i < seen.length; i++) {
      const stageDelta = LOAD_STAGES.indexOf(seen[i]!.status) - LOAD_STAGES.indexOf(seen[i - 1]!.status);
      expect(stageDelta, `report ${i} stage`).toBeGreaterThanOrEqual(0);
      if (stageDelta === 0) expect(seen[i]!.loaded, `report ${i} loaded`).toBeGreaterThanOrEqual(seen[i - 1]!.loaded);
      expect(seen[i]!.elapsedMs).toBeGreaterThanOrEqual(seen[i - 1]!.elapsedMs);
    }
    const lastUpload = seen.filter((p) => p.status === "upload").at(-1)!;
    expect(lastUpload.loaded).toBe(lastUpload.total);
  });

  it("logits match the reference", async () => {
    const file = await GGUFFile.open(new MemorySource(FIXTURE, await fixtureBytes()));
    const reference = await ReferenceModel.load(file);
    const tokens = [1, 300, 45, 77, 260];
    const expected = logSoftmax(reference.forward(tokens).logits);

    const result = await runtime.logits(tokens, { topK: 5 });

    expect(result.logProbs.length).toBe(reference.config.vocabSize);
    expect(result.top).toHaveLength(5);
    const best = expected.indexOf(Math.max(...expected));
    expect(result.top[0]!.token).toBe(best);
    for (const entry of result.top) {
      expect(Math.abs(entry.logProb - expected[entry.token]!), `token ${entry.token}`).toBeLessThanOrEqual(2e-3);
    }
  });

  it("class logits follow the requested order", async () => {
    const classTokenIds = [260, 1, 45];

    const result = await runtime.logits([1, 300, 45], { classTokenIds, topK: 3 });

    expect(result.logits).toHaveLength(3);
    const best = [...result.logits.keys()].sort((a, b) => result.logits[b]! - result.logits[a]!)[0]!;
    expect(result.top[0]!.token).toBe(classTokenIds[best]);
    const total = [...result.logProbs].reduce((sum, lp) => sum + Math.exp(lp), 0);
    expect(total).toBeCloseTo(1, 5);
  });

  it("info reports the adapter and model", async () => {
    const info = await runtime.info();

    expect(info.isSoftwareAdapter).toBeTypeOf("boolean");
    expect(info.model?.vocabSize).toBe(512);
    expect(info.adapter?.description).toBeTypeOf("string");
  });
});
