// The WebGPU forward pass against the CPU reference on synthetic fixtures, in Node through Dawn.

import { afterAll, describe, expect, it } from "vitest";
import { ensureFixture, fixtureUnavailableReason } from "../../src/fixtures/registry.js";
import { GGUFFile } from "../../src/gguf/reader.js";
import type { GPUContext } from "../../src/gpu/context.js";
import { WebGPUModel } from "../../src/gpu/model.js";
import { openFileSource } from "../../src/io/node-file.js";
import type { ByteSource } from "../../src/io/source.js";
import { logSoftmax, ReferenceModel } from "../../src/reference/index.js";
import { openTestContext } from "../gpu/helpers.js";

const context: GPUContext | undefined = (await openTestContext()).ctx;

// Max |GPU - reference| of log-probabilities over the reference's top 20 tokens.
const LOG_PROB_ATOL = 2e-3;
const TOP_K = 20;

/**
 * Fixtures covering llama, qwen2 and qwen3 with F32, Q8_0 and Q4_K weights. The matmul tests cover
 * every weight type kernel by kernel; these check the model's plumbing at SwiftShader's speed.
 */
const FIXTURE_NAMES = ["stories260k", "qwen3-f32", "qwen2-f32", "llama-q4_k", "llama-q8_0", "qwen3-q4_k"];

/** Returns the indices of the `k` largest values, largest first. */
function topIndices(values: Float32Array, k: number): number[] {
  return Array.from(values.keys())
    .sort((a, b) => values[b]! - values[a]!)
    .slice(0, k);
}

/** Describes the first few tokens whose log-probabilities differ by more than LOG_PROB_ATOL. */
function compareTop(expected: Float32Array, actual: Float32Array, label: string): void {
  const top = topIndices(expected, TOP_K);
  const bad = top
    .map((token) => ({ token, expected: expected[token]!, actual: actual[token]! }))
    .filter((entry) => !(Math.abs(entry.actual - entry.expected) <= LOG_PROB_ATOL));
  const report = bad.slice(0, 5).map((e) => `(token ${e.token}, expected ${e.expected}, actual ${e.actual})`).join(" ");
  expect(bad.length, `${label}: log-prob mismatches ${report}`).toBe(0);
  expect(topIndices(actual, 1)[0], `${label}: top-1`).toBe(top[0]);
}

/** Checks raw logits entry by entry with |actual - expected| <= LOG_PROB_ATOL + 1e-3 * |expected|. */
function compareLogits(expected: ArrayLike<number>, actual: Float32Array, ids: number[], label: string): void {
  expect(actual.length, `${label}: logit count`).toBe(expected.length);
  const bad: string[] = [];
  for (let i = 0; i < expected.length; i++) {
    const tolerance = LOG_PROB_ATOL + 1e-3 * Math.abs(expected[i]!);
    if (!(Math.abs(actual[i]! - expected[i]!) <= tolerance)) bad.push(`(index ${i}, token ${ids[i]}, expected ${expected[i]}, actual ${actual[i]})`);
  }
  expect(bad.length, `${label}: logit mismatches ${bad.slice(0, 5).join(" ")}`).toBe(0);
}

describe.skipIf(!context)("WebGPUModel vs reference", () => {
  afterAll(() => context?.dispose());

  for (const name of FIXTURE_NAMES) {
    const unavailable = fixtureUnavailableReason(name);
    if (unavailable) console.warn(`skipping ${name}: ${unavailable}`);


    describe.skipIf(unavailable !== undefined)(name, () => {
      let file: GGUFFile;
      let reference: ReferenceModel;
      let model: WebGPUModel;
      let source: ByteSource | undefined;

      const load = async (): Promise<void> => {
        if (model) return;
        source = await openFileSource(await ensureFixture(name));
        file = await GGUFFile.open(source);
        reference = await ReferenceModel.load(file);
        model = await WebGPUModel.load(file, { context: context! });
      };
      afterAll(async () => {
        model?.dispose();
        await source?.close?.();
      });

      /** Token ids spread over the vocabulary, deterministic per fixture. */
      const tokensOf = (count: number): number[] =>
        Array.from({ length: count }, (_, i) => (i * 7919 + 13) % reference.config.vocabSize);

      it("top-20 class logits match for 11 tokens", async () => {
        await load();
        const tokens = tokensOf(11);
        const full = reference.forward(tokens).logits;
        const classTokenIds = topIndices(full, TOP_K);

        const { logits } = await model.forward(tokens, { classTokenIds });

        compareLogits(classTokenIds.map((id) => full[id]!), logits, classTokenIds, `${name} T=11`);
      });

      it("full log-probs match for 3 tokens", async () => {
        await load();
        const tokens = tokensOf(3);

        const expected = logSoftmax(reference.forward(tokens).logits);
        const { logits, logProbs } = await model.forward(tokens);

        compareTop(expected, logProbs, `${name} T=3`);
        compareTop(expected, logSoftmax(logits), `${name} T=3 host log-softmax`);
      });

      it("KV cache continuation equals one prefill", async () => {
        await load();
        const tokens = tokensOf(10);
        const classTokenIds = topIndices(reference.forward(tokens).logits, TOP_K);
        const cache = model.createKVCache(16);

        await model.forward(tokens.slice(0, 6), { cache, classTokenIds });
        const continued = await model.forward(tokens.slice(6), { cache, classTokenIds });
        const whole = await model.forward(tokens, { classTokenIds });

        expect(cache.length).toBe(10);
        compareLogits(whole.logits, continued.logits, classTokenIds, `${name} cache`);
        cache.dispose();
      });
    });
  }
});
