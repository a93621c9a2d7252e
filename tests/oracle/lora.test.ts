// LoRA through the oracle: llama.cpp with an adapter file must equal the reference model whose
// weights have the adapter merged in, W' = W + scale * (alpha / rank) * B·A.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { Random } from "../../src/fixtures/random.js";
import { meta } from "../../src/gguf/metadata.js";
import { quantize } from "../../src/gguf/quant.js";
import { GGMLType } from "../../src/gguf/types.js";
import { writeGGUF, type GGUFWriteTensor } from "../../src/gguf/writer.js";
import { layerTensorNames } from "../../src/model/tensor-names.js";
import { LlamaCppOracle } from "../../src/oracle/llama-cpp.js";
import { ReferenceModel, logSoftmax, type ReferenceWeights } from "../../src/reference/index.js";
import { encodeModelAsGGUF } from "../reference/gguf-model.js";
import { randomWeights, smallConfig } from "../reference/helpers.js";

const RANK = 4;
const ALPHA = 8;
const SCALE = 0.5;

/** One low-rank update: A [rank, in] and B [out, rank], row-major. */
interface LowRankUpdate {
  tensor: string;
  a: Float32Array;
  b: Float32Array;
  inFeatures: number;
  outFeatures: number;
}

/**
 * Encodes updates as a llama.cpp LoRA adapter: `<tensor>.lora_a` with dims [in, rank] and
 * `<tensor>.lora_b` with dims [rank, out], plus the adapter metadata llama.cpp checks.
 */
function encodeLoRA(architecture: string, updates: LowRankUpdate[]): Uint8Array {
  const tensors: GGUFWriteTensor[] = [];
  for (const update of updates) {
    tensors.push({ name: `${update.tensor}.lora_a`, dims: [update.inFeatures, RANK], type: GGMLType.F32, data: quantize(GGMLType.F32, update.a) });
    tensors.push({ name: `${update.tensor}.lora_b`, dims: [RANK, update.outFeatures], type: GGMLType.F32, data: quantize(GGMLType.F32, update.b) });
  }
  return writeGGUF({
    metadata: {
      "general.architecture": meta.str(architecture),
      "general.type": meta.str("adapter"),
      "adapter.type": meta.str("lora"),
      "adapter.lora.alpha": meta.f32(ALPHA),
    },
    tensors,
  });
}

/** Returns W + factor * B·A for row-major W [out, in]. */
function mergeUpdate(weight: Float32Array, update: LowRankUpdate, factor: number): Float32Array {
  const merged = new Float32Array(weight);
  for (let o = 0; o < update.outFeatures; o++) {
    for (let i = 0; i < update.inFeatures; i++) {
      let sum = 0;
      for (let r = 0; r < RANK; r++) sum += update.b[o * RANK + r]! * update.a[r * update.inFeatures + i]!;
      merged[o * update.inFeatures + i] = merged[o * update.inFeatures + i]! + factor * sum;
    }
  }
  return merged;
}

describe("LlamaCppOracle with a LoRA adapter", () => {
  const directory = mkdtempSync(join(tmpdir(), "tokenjudge-lora-"));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it("matches merged reference weights", async () => {
    const config = smallConfig({ embeddingLength: 64, headCount: 4, headCountKV: 2, headDim: 16, ropeDimensionCount: 16, feedForwardLength: 128, vocabSize: 320, contextLength: 256 });
    const weights = randomWeights(config, "lora base");
    const random = new Random("lora updates");
    const queryWidth = config.headCount * config.headDim;

    // Updates on the query and down projections of every layer.
    const updates: LowRankUpdate[] = [];
    for (let layer = 0; layer < config.layerCount; layer++) {
      const names = layerTensorNames(layer);
      const lowRank = (tensor: string, inFeatures: number, outFeatures: number): LowRankUpdate => ({
        tensor,
        inFeatures,
        outFeatures,
        a: random.normalArray(RANK * inFeatures, 1 / Math.sqrt(inFeatures)),
        b: random.normalArray(outFeatures * RANK, 0.5),
      });
      updates.push(lowRank(names.query, config.embeddingLength, queryWidth));
      updates.push(lowRank(names.down, config.feedForwardLength, config.embeddingLength));
    }

    const factor = SCALE * (ALPHA / RANK);
    const merged: ReferenceWeights = {
      ...weights,
      layers: weights.layers.map((layer, index) => ({
        ...layer,
        query: mergeUpdate(layer.query, updates[2 * index]!, factor),
        down: mergeUpdate(layer.down, updates[2 * index + 1]!, factor),
      })),
    };

    const basePath = join(directory, "base.gguf");
    const adapterPath = join(directory, "adapter.gguf");
    writeFileSync(basePath, encodeModelAsGGUF(config, weights));
    writeFileSync(adapterPath, encodeLoRA(config.architecture, updates));

    const tokens = [1, ...Array.from({ length: 30 }, (_, i) => 3 + ((i * 53) % 300))];
    const expected = logSoftmax(ReferenceModel.fromWeights(config, merged).forward(tokens).logits);
    const unadapted = logSoftmax(ReferenceModel.fromWeights(config, weights).forward(tokens).logits);

    const oracle = await LlamaCppOracle.load(basePath, { threads: 2, lora: [{ path: adapterPath, scale: SCALE }] });
    try {
      const top = await oracle.lastTokenLogProbs(tokens, 20);
      let maxDiff = 0;
      let maxShift = 0;
      for (const { token, logProb } of top) {
        maxDiff = Math.max(maxDiff, Math.abs(expected[token]! - logProb));
        maxShift = Math.max(maxShift, Math.abs(unadapted[token]! - logProb));
      }
      expect(maxDiff, "max |Δ log p| against merged weights").toBeLessThanOrEqual(1e-4);
      // The adapter must move the output, or the comparison above proves nothing.
      expect(maxShift, "max |Δ log p| against the base weights").toBeGreaterThan(1e-2);
    } finally {
      await oracle.dispose();
    }
  });
});
