import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../src/errors.js";
import { GGUFFile } from "../../src/gguf/reader.js";
import { GGMLType } from "../../src/gguf/types.js";
import { MemorySource } from "../../src/io/memory.js";
import { ReferenceModel, logSoftmax } from "../../src/reference/index.js";
import { encodeModelAsGGUF } from "./gguf-model.js";
import { argmax, maxAbsDifference, randomWeights, smallConfig } from "./helpers.js";

const tokens = [3, 17, 42, 8, 8, 25, 1];

describe("ReferenceModel.forward", () => {
  const configs = {
    llama: smallConfig(),
    qwen2: smallConfig({ architecture: "qwen2", ropeStyle: "neox" }),
    qwen3: smallConfig({ architecture: "qwen3", ropeStyle: "neox", queryKeyNorm: true, headDim: 8, ropeDimensionCount: 8 }),
    tied: smallConfig({ tiedOutput: true, headCountKV: 4 }),
  };

  for (const [name, config] of Object.entries(configs)) {
    it(`${name}: cached prefix equals full prefill`, () => {
      const model = ReferenceModel.fromWeights(config, randomWeights(config, name, { biases: name === "qwen2" }));
      const full = model.forward(tokens).logits;

      const cache = model.createKVCache();
      model.forward(tokens.slice(0, 3), { cache });
      expect(cache.length).toBe(3);
      model.forward(tokens.slice(3, 4), { cache });
      const incremental = model.forward(tokens.slice(4), { cache }).logits;

      expect(cache.length).toBe(tokens.length);
      expect(maxAbsDifference(incremental, full)).toBeLessThan(1e-4);
    });

    it(`${name}: class logits slice full logits`, () => {
      const model = ReferenceModel.fromWeights(config, randomWeights(config, name, { biases: name === "qwen2" }));
      const full = model.forward(tokens).logits;
      const ids = [49, 0, 7, 7];
      const logits = model.forward(tokens, { classTokenIds: ids }).logits;

      expect(full.length).toBe(config.vocabSize);
      expect(logits.length).toBe(ids.length);
      ids.forEach((id, i) => expect(logits[i]).toBeCloseTo(full[id]!, 5));
    });
  }

  it("earlier tokens change the last logits", () => {
    const config = smallConfig();
    const model = ReferenceModel.fromWeights(config, randomWeights(config, 1));
    const a = model.forward([5, 9, 12]).logits;
    const b = model.forward([6, 9, 12]).logits;
    expect(maxAbsDifference(a, b)).toBeGreaterThan(1e-3);
  });

  it("qwen3 q/k norm cancels query scaling", () => {
    const config = configs.qwen3;
    const weights = randomWeights(config, "qk");
    const scaled = { ...weights, layers: weights.layers.map((layer) => ({ ...layer, query: layer.query.map((v) => v * 7), key: layer.key.map((v) => v * 0.2) })) };
    const baseline = ReferenceModel.fromWeights(config, weights).forward(tokens).logits;
    const withScaling = ReferenceModel.fromWeights(config, scaled).forward(tokens).logits;
    expect(maxAbsDifference(baseline, withScaling)).toBeLessThan(1e-3);

    // Without the norm, the same scaling changes the attention pattern and so the logits.
    const plainConfig = { ...config, queryKeyNorm: false };
    const plain = (w: typeof weights) => ({ ...w, layers: w.layers.map((layer) => ({ ...layer, queryNorm: undefined, keyNorm: undefined })) });
    const plainBaseline = ReferenceModel.fromWeights(plainConfig, plain(weights)).forward(tokens).logits;
    const plainScaled = ReferenceModel.fromWeights(plainConfig, plain(scaled)).forward(tokens).logits;
    expect(maxAbsDifference(plainBaseline, plainScaled)).toBeGreaterThan(1e-2);
  });

  it("rejects invalid input", () => {
    const config = smallConfig();
    const model = ReferenceModel.fromWeights(config, randomWeights(config, 2));
    expect(() => model.forward([])).toThrow(InvalidInputError);
    expect(() => model.forward([50])).toThrow(/outside the vocabulary/);
    expect(() => model.forward([1.5])).toThrow(InvalidInputError);
    expect(() => model.forward([1], { classTokenIds: [-1] })).toThrow(/class token id -1/);
    expect(() => model.forward(new Array(65).fill(1))).toThrow(/context length 64/);
    const otherConfig = smallConfig({ layerCount: 3 });
    const otherCache = ReferenceModel.fromWeights(otherConfig, randomWeights(otherConfig, 5)).createKVCache();
    expect(() => model.forward([1], { cache: otherCache })).toThrow(/KV cache has 3 layers/);
  });

  it("rejects weights of the wrong size", () => {
    const config = smallConfig();
    const weights = randomWeights(config, 3);
    expect(() => ReferenceModel.fromWeights({ ...config, embeddingLength: 32 }, weights)).toThrow(/tokenEmbedding/);
    const missingNorm = { ...weights, layers: weights.layers.map((layer) => ({ ...layer })) };
    expect(() => ReferenceModel.fromWeights({ ...config, queryKeyNorm: true }, missingNorm)).toThrow(/queryNorm" is missing/);
  });
});

describe("ReferenceModel.load", () => {
  it("reads a GGUF file like fromWeights", async () => {
    // Epsilon is stored as float32, so the test uses a value float32 represents exactly.
    const config = smallConfig({ architecture: "qwen2", ropeStyle: "neox", vocabSize: 300, rmsNormEpsilon: Math.fround(1e-5) });
    const weights = randomWeights(config, "load", { biases: true });
    const bytes = encodeModelAsGGUF(config, weights, GGMLType.F32);
    const file = await GGUFFile.open(new MemorySource("synthetic.gguf", bytes));

    const loaded = await ReferenceModel.load(file);
    expect(loaded.config).toEqual(config);
    const expected = ReferenceModel.fromWeights(config, weights).forward(tokens).logits;
    expect(maxAbsDifference(loaded.forward(tokens).logits, expected)).toBe(0);
  });

  it("stops when the signal is aborted", async () => {
    const config = smallConfig({ vocabSize: 300 });
    const bytes = encodeModelAsGGUF(config, randomWeights(config, 4));
    const file = await GGUFFile.open(new MemorySource("synthetic.gguf", bytes));
    const controller = new AbortController();
    controller.abort();
    await expect(ReferenceModel.load(file, { signal: controller.signal })).rejects.toMatchObject({ code: "ABORTED" });
  });
});

describe("logSoftmax", () => {
  it("normalizes and keeps order", () => {
    const out = logSoftmax(new Float32Array([1, 3, 2, 1000]));
    let sum = 0;
    for (const v of out) sum += Math.exp(v);
    expect(sum).toBeCloseTo(1, 6);
    expect(argmax(out)).toBe(3);
    expect(out[1]! - out[0]!).toBeCloseTo(2, 5);
    expect(Number.isFinite(out[0])).toBe(true);
  });
});
