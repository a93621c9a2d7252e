// A GPU device lost while a forward pass is in flight: the pass rejects with DeviceLostError, the
// model refuses later calls, and a model on a new context works again.

import { describe, expect, it } from "vitest";

import { DeviceLostError } from "../../src/errors.js";
import { ensureFixture } from "../../src/fixtures/registry.js";
import { GGUFFile } from "../../src/gguf/reader.js";
import { GPUContext } from "../../src/gpu/context.js";
import { WebGPUModel } from "../../src/gpu/model.js";
import { openFileSource } from "../../src/io/node-file.js";
import { openTestContext } from "../gpu/helpers.js";

const probe = await openTestContext();
probe.ctx?.dispose();

async function loadModel(context: GPUContext): Promise<WebGPUModel> {
  const source = await openFileSource(await ensureFixture("llama-q8_0"));
  try {
    return await WebGPUModel.load(await GGUFFile.open(source), { context });
  } finally {
    await source.close?.();
  }
}

describe.skipIf(!probe.ctx)("device lost during a forward pass", () => {
  it("rejects the pass and recovers on a new context", async () => {
    const context = await GPUContext.create();
    const model = await loadModel(context);
    const tokens = Array.from({ length: 24 }, (_, i) => 100 + i);

    // The device goes away after the call has started and before its results are read back.
    const pass = model.forward(tokens);
    context.device.destroy();
    await expect(pass).rejects.toBeInstanceOf(DeviceLostError);
    await expect(pass).rejects.toThrow(/device was lost.*create a new GPUContext/);

    await expect(model.forward(tokens)).rejects.toBeInstanceOf(DeviceLostError);
    model.dispose();
    context.dispose();

    // A new context and a new load give a working model again.
    const freshContext = await GPUContext.create();
    const fresh = await loadModel(freshContext);
    const { logProbs } = await fresh.forward(tokens);
    expect(logProbs.every(Number.isFinite)).toBe(true);
    fresh.dispose();
    freshContext.dispose();
  });
});
