import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OracleError } from "../../src/errors.js";
import { GGUFFile } from "../../src/gguf/reader.js";
import { openFileSource } from "../../src/io/node-file.js";
import { LlamaCppOracle } from "../../src/oracle/llama-cpp.js";
import { ReferenceModel, logSoftmax } from "../../src/reference/index.js";
import { argmax } from "../reference/helpers.js";

const TINY_MODEL = fileURLToPath(new URL("../../../shared/models/llama-2-tiny-random/llama-2-tiny-random.gguf", import.meta.url));
const hasTinyModel = existsSync(TINY_MODEL);
if (!hasTinyModel) console.warn(`skipping llama.cpp oracle tests: ${TINY_MODEL} not found`);

describe.skipIf(!hasTinyModel)("LlamaCppOracle on the tiny llama model", () => {
  let oracle: LlamaCppOracle;
  let reference: ReferenceModel;
  let source: Awaited<ReturnType<typeof openFileSource>> | undefined;

  beforeAll(async () => {
    oracle = await LlamaCppOracle.load(TINY_MODEL, { threads: 2, contextSize: 256 });
    source = await openFileSource(TINY_MODEL);
    reference = await ReferenceModel.load(await GGUFFile.open(source));
  });
  afterAll(async () => {
    await oracle?.dispose();
    await source?.close?.();
  });

  it("tokenizes plain text without BOS", () => {
    const tokens = oracle.tokenize("Hello world");
    expect(tokens.length).toBeGreaterThan(0);
    expect(tokens[0]).not.toBe(1);
  });

  it("parses special tokens only on request", () => {
    expect(oracle.tokenize("<s>", { special: true })).toEqual([1]);
    const plain = oracle.tokenize("<s>");
    expect(plain).not.toContain(1);
    expect(plain.length).toBeGreaterThan(1);
  });

  it("returns the full normalized distribution", async () => {
    const probabilities = await oracle.lastTokenProbabilities(oracle.tokenize("Once upon a time"));
    expect(probabilities.size).toBe(reference.config.vocabSize);
    let sum = 0;
    for (const p of probabilities.values()) sum += p;
    expect(Math.abs(sum - 1)).toBeLessThan(1e-4);
  });

  it("renormalizes the distribution in float64", async () => {
    // The addon's float32 normalizing sum drifts by up to about 4e-4 on large vocabularies, and
    // the wrapper divides by the float64 sum again, so the total is 1 to float64 precision.
    const probabilities = await oracle.lastTokenProbabilities([1, 450, 4996, 17354]);
    let sum = 0;
    for (const p of probabilities.values()) sum += p;
    expect(Math.abs(sum - 1)).toBeLessThan(1e-12);
  });

  it("returns top-k sorted by log-probability", async () => {
    const top = await oracle.lastTokenLogProbs([1, 450, 4996], 20);
    expect(top).toHaveLength(20);
    for (let i = 1; i < top.length; i++) expect(top[i]!.logProb).toBeLessThanOrEqual(top[i - 1]!.logProb);
    expect(new Set(top.map((entry) => entry.token)).size).toBe(20);
  });

  it("keeps calls independent", async () => {
    const tokens = [1, 9038, 2501, 263];
    const first = await oracle.lastTokenLogProbs(tokens, 5);
    await oracle.lastTokenLogProbs([1, 2, 3, 4, 5, 6, 7, 8], 5);
    const concurrent = await Promise.all([oracle.lastTokenLogProbs([7, 7, 7], 5), oracle.lastTokenLogProbs(tokens, 5)]);
    expect(concurrent[1]).toEqual(first);
    expect(await oracle.lastTokenLogProbs(tokens, 5)).toEqual(first);
  });

  it("rejects empty and over-long input", async () => {
    await expect(oracle.lastTokenLogProbs([], 5)).rejects.toThrow(/empty/);
    await expect(oracle.lastTokenLogProbs([1], 0)).rejects.toThrow(/topK 0 is invalid/);
    await expect(oracle.lastTokenLogProbs(new Array(300).fill(5), 5)).rejects.toThrow(/context size 256/);
  });

  it("matches the reference last-token log-softmax", async () => {
    const sequences = [
      oracle.tokenize("Once upon a time, there was a little girl"),
      [1, ...oracle.tokenize("Is this toxic? Answer Yes or No.")],
      [1],
      Array.from({ length: 60 }, (_, i) => 100 + ((i * 7919) % 31000)),
    ];
    for (const tokens of sequences) {
      const expected = logSoftmax(reference.forward(tokens).logits);
      const top = await oracle.lastTokenLogProbs(tokens, 20);

      let maxDiff = 0;
      for (const { token, logProb } of top) maxDiff = Math.max(maxDiff, Math.abs(expected[token]! - logProb));
      expect(maxDiff, `max |Δ log p| over the top 20 for ${tokens.length} tokens`).toBeLessThanOrEqual(1e-3);
      expect(argmax(expected), `top-1 token for ${tokens.length} tokens`).toBe(top[0]!.token);
    }
  });
});

describe("LlamaCppOracle.load", () => {
  it("rejects a missing file with OracleError", async () => {
    await expect(LlamaCppOracle.load("/nonexistent/model.gguf")).rejects.toBeInstanceOf(OracleError);
  });
});
