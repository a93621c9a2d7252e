// llama.cpp's Q4_1 product: Q4_1 weights meet activations quantized to Q8_1, whose per-block sum
// s = d * sum(q) is stored as f16. These tests check the block-minimum reader and that
// matmulLikeLlamaCpp reproduces llama.cpp's logits through a Q4_1 output projection.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { InvalidInputError } from "../../src/errors.js";
import { quantize } from "../../src/gguf/quant.js";
import { GGUFFile } from "../../src/gguf/reader.js";
import { GGMLType } from "../../src/gguf/types.js";
import { MemorySource } from "../../src/io/memory.js";
import { readModelConfig } from "../../src/model/config.js";
import { OUTPUT, OUTPUT_NORM, TOKEN_EMBEDDING } from "../../src/model/tensor-names.js";
import { LlamaCppOracle } from "../../src/oracle/llama-cpp.js";
import { matmulLikeLlamaCpp } from "../../src/reference/activation-rounding.js";
import { readQ4_1BlockMinimums } from "../../src/reference/block-minimums.js";
import { logSoftmax } from "../../src/reference/index.js";
import { rmsNorm } from "../../src/reference/norm.js";
import { encodeModelAsGGUF } from "../reference/gguf-model.js";
import { randomWeights, smallConfig } from "../reference/helpers.js";

describe("readQ4_1BlockMinimums", () => {
  it("reads the f16 minimum of each block", () => {
    // Three blocks whose smallest values are -2, 0.5 and -0.75, all exact in f16.
    const values = new Float32Array(96);
    for (let i = 0; i < 96; i++) values[i] = (i % 32) / 16;
    values[5] = -2;
    for (let i = 32; i < 64; i++) values[i] = 0.5 + (i % 7) / 8;
    values[70] = -0.75;

    const minimums = readQ4_1BlockMinimums(quantize(GGMLType.Q4_1, values), values.length, "test tensor");
    expect(Array.from(minimums)).toEqual([-2, 0.5, -0.75]);
  });

  it("rejects a byte count that does not fit Q4_1", () => {
    expect(() => readQ4_1BlockMinimums(new Uint8Array(21), 32, "test tensor")).toThrow(InvalidInputError);
    expect(() => readQ4_1BlockMinimums(new Uint8Array(20), 33, "test tensor")).toThrow(/20 bytes for 33 elements/);
  });
});

describe("matmulLikeLlamaCpp with Q4_1 weights vs llama.cpp", () => {
  const directory = mkdtempSync(join(tmpdir(), "tokenjudge-q4_1-"));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  // One layer whose attention-output and down projections are zero, so the last hidden state is
  // the token's embedding row and only the Q4_1 output projection rounds anything.
  it("matches the output projection's logits", async () => {
    const config = smallConfig({ embeddingLength: 256, headDim: 64, ropeDimensionCount: 64, feedForwardLength: 512, vocabSize: 320, contextLength: 64, layerCount: 1 });
    const weights = randomWeights(config, "q4_1 output", { gain: 3 });
    weights.layers = weights.layers.map((layer) => ({
      ...layer,
      attentionOutput: new Float32Array(layer.attentionOutput.length),
      down: new Float32Array(layer.down.length),
    }));
    const bytes = encodeModelAsGGUF(config, weights, (tensor) => (tensor === OUTPUT ? GGMLType.Q4_1 : GGMLType.F32));
    const path = join(directory, "q4_1-output.gguf");
    writeFileSync(path, bytes);

    const file = await GGUFFile.open(new MemorySource(path, bytes));
    const { embeddingLength: embd, vocabSize, rmsNormEpsilon } = readModelConfig(file);
    const embedding = await file.readTensorF32(TOKEN_EMBEDDING); // [vocab, embd]
    const outputNorm = await file.readTensorF32(OUTPUT_NORM); // [embd]
    const output = await file.readTensorF32(OUTPUT); // [vocab, embd]
    const blockMinimums = readQ4_1BlockMinimums(await file.readTensorBytes(OUTPUT), vocabSize * embd, OUTPUT); // [vocab, embd / 32]

    const oracle = await LlamaCppOracle.load(path, { threads: 2 });
    try {
      let withMinimums = 0;
      let withoutMinimums = 0;
      for (const token of [3, 77, 200, 319]) {
        const hidden = rmsNorm(embedding.subarray(token * embd, (token + 1) * embd), outputNorm, rmsNormEpsilon, embd); // [embd]
        const exact = logSoftmax(matmulLikeLlamaCpp(hidden, output, embd, vocabSize, { type: GGMLType.Q4_1, blockMinimums }));
        const roundedOnly = logSoftmax(matmulLikeLlamaCpp(hidden, output, embd, vocabSize, { type: GGMLType.Q4_1 }));

        for (const { token: next, logProb } of await oracle.lastTokenLogProbs([token], 20)) {
          withMinimums = Math.max(withMinimums, Math.abs(exact[next]! - logProb));
          withoutMinimums = Math.max(withoutMinimums, Math.abs(roundedOnly[next]! - logProb));
        }
      }
      expect(withMinimums, "max |Δ log p| with the Q8_1 sum term").toBeLessThanOrEqual(1e-5);
      // Without the sum term the same products differ visibly, so the check above has teeth.
      expect(withoutMinimums, "max |Δ log p| without the Q8_1 sum term").toBeGreaterThan(1e-4);
    } finally {
      await oracle.dispose();
    }
  });
});
