// The batched suffix forward pass on WebGPU against the CPU LoRA reference: a prefix prefilled
// once, then segments with mixed adapters, each continued from a copy of the prefix cache.

import { afterAll, describe, expect, it } from "vitest";
import { LoraReferenceModel } from "../../src/adapters/forward.js";
import { randomLora, randomLoraAdapter } from "../../src/adapters/fixtures.js";
import type { LoraAdapter } from "../../src/adapters/lora.js";
import { InvalidInputError } from "../../src/errors.js";
import { ensureFixture, fixtureUnavailableReason } from "../../src/fixtures/registry.js";
import { GGUFFile } from "../../src/gguf/reader.js";
import { WebGPUModel, type GPUKVCache } from "../../src/gpu/model.js";
import { runSuffixBatch, SuffixBatchAdapters, type SuffixSegment } from "../../src/gpu/suffix-batch.js";
import { openFileSource } from "../../src/io/node-file.js";
import type { ByteSource } from "../../src/io/source.js";
import { readModelConfig } from "../../src/model/config.js";
import { loadReferenceWeights } from "../../src/reference/weights.js";
import { createRandom, expectClose, openTestContext, type Random } from "./helpers.js";

const gpu = await openTestContext();

// Class logits of the whole model: GPU f32 against the float64-accumulating reference. The
// quantized fixture's matmuls decode the same weights but in another summation order over
// larger rows (256 and 512), and its activations are larger.
const FIXTURE_TOLERANCES: Record<string, { atol: number; rtol: number }> = {
  "llama-f32": { atol: 2e-3, rtol: 0 },
  "qwen2-f32": { atol: 2e-3, rtol: 0 },
  "qwen3-f32": { atol: 2e-3, rtol: 0 },
  "llama-q8_0": { atol: 3e-2, rtol: 0 },
};

const PREFIX_LENGTH = 7;
const CLASS_IDS_PER_SEGMENT = 3;

interface BatchCase {
  segments: SuffixSegment[];
  /** Adapter of each segment, or undefined for the base weights. */
  adapterOf: (LoraAdapter | undefined)[];
}

/** Draws `count` segments of 1 to 12 tokens, each with adapter slot 0, 1 or none and an optional base-weight head. */
function drawCase(random: Random, count: number, vocabSize: number, adapters: LoraAdapter[]): BatchCase {
  const segments: SuffixSegment[] = [];
  const adapterOf: (LoraAdapter | undefined)[] = [];
  for (let j = 0; j < count; j++) {
    const length = random.int(1, 12);
    const adapterSlot = random.int(-1, adapters.length - 1);
    const adapterFromRow = adapterSlot >= 0 && random.next() < 0.5 ? random.int(0, length - 1) : 0;
    segments.push({
      tokens: Array.from({ length }, () => random.int(0, vocabSize - 1)),
      adapterSlot,
      adapterFromRow,
      classTokenIds: Array.from({ length: CLASS_IDS_PER_SEGMENT }, () => random.int(0, vocabSize - 1)),
    });
    adapterOf.push(adapterSlot >= 0 ? adapters[adapterSlot] : undefined);
  }
  return { segments, adapterOf };
}

describe.skipIf(!gpu.ctx)("suffix batch vs LoRA reference", () => {
  const ctx = gpu.ctx!;
  afterAll(() => ctx.dispose());

  for (const [name, tolerance] of Object.entries(FIXTURE_TOLERANCES)) {
    const unavailable = fixtureUnavailableReason(name);
    if (unavailable) console.warn(`skipping ${name}: ${unavailable}`);

    describe.skipIf(unavailable !== undefined)(name, () => {
      let source: ByteSource | undefined;
      let reference: LoraReferenceModel;
      let model: WebGPUModel;
      let adapters: LoraAdapter[];
      let batchAdapters: SuffixBatchAdapters;
      let prefixTokens: number[];
      let prefix: GPUKVCache;

      const load = async (): Promise<void> => {
        if (model) return;
        source = await openFileSource(await ensureFixture(name));
        const file = await GGUFFile.open(source);
        const config = readModelConfig(file);
        reference = new LoraReferenceModel(config, await loadReferenceWeights(file, config));
        model = await WebGPUModel.load(file, { context: ctx });

        // Two adapters of different ranks, the second targeting only some projections.
        adapters = [
          randomLoraAdapter(randomLora(config, { seed: `${name}/a`, rank: 2 }), "rank-2"),
          randomLoraAdapter(randomLora(config, { seed: `${name}/b`, rank: 5, targets: ["attn_q", "attn_v", "ffn_up", "ffn_down"] }), "rank-5"),
        ];
        batchAdapters = SuffixBatchAdapters.create(model, adapters);

        const random = createRandom(17);
        prefixTokens = Array.from({ length: PREFIX_LENGTH }, () => random.int(0, config.vocabSize - 1));
        prefix = model.createKVCache(PREFIX_LENGTH);
        await model.forward(prefixTokens, { cache: prefix, classTokenIds: [0] });
      };

      afterAll(async () => {
        batchAdapters?.dispose();
        prefix?.dispose();
        model?.dispose();
        await source?.close?.();
      });

      /** Runs the case on the GPU and each segment alone on the reference from a copy of the prefix cache. */
      const check = async (testCase: BatchCase, withPrefix: boolean, params: Record<string, unknown>): Promise<void> => {
        const results = await runSuffixBatch(model, { prefix: withPrefix ? prefix : undefined, segments: testCase.segments, adapters: batchAdapters });
        expect(results).toHaveLength(testCase.segments.length);

        const referencePrefix = reference.createKVCache();
        if (withPrefix) reference.forward(prefixTokens, { cache: referencePrefix, classTokenIds: [] });

        testCase.segments.forEach((segment, j) => {
          const expected = reference.forward(segment.tokens, {
            cache: reference.forkKVCache(referencePrefix),
            classTokenIds: segment.classTokenIds,
            adapter: testCase.adapterOf[j],
            adapterFromRow: segment.adapterFromRow,
          }).logits;
          const caseParams = { fixture: name, ...params, segment: j, length: segment.tokens.length, slot: segment.adapterSlot, fromRow: segment.adapterFromRow };
          expectClose(results[j]!.logits, expected, tolerance, caseParams);

          // The log-probabilities are the log-softmax of the returned logits.
          const max = Math.max(...results[j]!.logits);
          const logSum = max + Math.log(results[j]!.logits.reduce((sum, logit) => sum + Math.exp(logit - max), 0));
          expectClose(results[j]!.logProbs, Array.from(results[j]!.logits, (logit) => logit - logSum), { atol: 1e-5, rtol: 0 }, caseParams);
        });
      };

      for (const [count, seed] of [[1, 101], [3, 102], [8, 103]] as const) {
        it(`${count} segments, mixed adapters`, async () => {
          await load();
          const testCase = drawCase(createRandom(seed), count, reference.config.vocabSize, adapters);
          await check(testCase, true, { seed, count });
        });
      }

      it("fixed segments without prefix", async () => {
        await load();
        const vocab = reference.config.vocabSize;
        const testCase: BatchCase = {
          segments: [
            { tokens: [1, 2, 3, 4, 5], adapterSlot: 0, classTokenIds: [10, 11] },
            { tokens: [vocab - 1], adapterSlot: -1, classTokenIds: [3] },
            { tokens: [9, 8, 7, 6, 5, 4, 3, 2, 1], adapterSlot: 1, adapterFromRow: 4, classTokenIds: [0, vocab - 1, 5, 6] },
          ],
          adapterOf: [adapters[0], undefined, adapters[1]],
        };
        await check(testCase, false, { fixed: true });
      });

      it("leaves the prefix cache unchanged", async () => {
        await load();
        const before = await ctx.readFloat32(prefix.layers[0]!.keys);
        await runSuffixBatch(model, { prefix, segments: [{ tokens: [1, 2], adapterSlot: 0, classTokenIds: [1] }], adapters: batchAdapters });
        const after = await ctx.readFloat32(prefix.layers[0]!.keys);

        expect(prefix.length).toBe(PREFIX_LENGTH);
        expect(Array.from(after)).toEqual(Array.from(before));
      });

      it("rejects invalid segments", async () => {
        await load();
        const vocab = reference.config.vocabSize;
        const run = (segment: SuffixSegment, withAdapters = true) =>
          runSuffixBatch(model, { prefix, segments: [segment], adapters: withAdapters ? batchAdapters : undefined });

        await expect(runSuffixBatch(model, { segments: [] })).rejects.toThrow(/no segments/);
        await expect(run({ tokens: [], adapterSlot: -1, classTokenIds: [1] })).rejects.toThrow(/has no tokens/);
        await expect(run({ tokens: [1], adapterSlot: -1, classTokenIds: [] })).rejects.toThrow(/no class token ids/);
        await expect(run({ tokens: [vocab], adapterSlot: -1, classTokenIds: [1] })).rejects.toThrow(/token id \d+ is outside the vocabulary/);
        await expect(run({ tokens: [1], adapterSlot: 2, classTokenIds: [1] })).rejects.toThrow(/adapterSlot 2 has no adapter/);
        await expect(run({ tokens: [1], adapterSlot: 0, classTokenIds: [1] }, false)).rejects.toThrow(InvalidInputError);
        await expect(run({ tokens: [1], adapterSlot: 0, adapterFromRow: 2, classTokenIds: [1] })).rejects.toThrow(/adapterFromRow = 2 is outside/);
        const tooLong = Array.from({ length: reference.config.contextLength - PREFIX_LENGTH + 1 }, () => 1);
        await expect(run({ tokens: tooLong, adapterSlot: -1, classTokenIds: [1] })).rejects.toThrow(/exceed the context length/);
      });
    });
  }
});
