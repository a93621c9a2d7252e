// Values that cannot produce a verdict must fail with a typed error, never a silent result.

import { describe, expect, it } from "vitest";

import { InvalidInputError, NonFiniteOutputError } from "../../src/errors.js";
import { TOXICITY } from "../../src/metrics/builtins.js";
import { toResult } from "../../src/metrics/pipeline.js";
import { contentSlots } from "../../src/metrics/prompt.js";

const PROMPT = { metric: TOXICITY.id, contentTokens: [1, 2, 3], suffixTokens: [4, 5], droppedTokens: 0 };
const LABELS = { names: TOXICITY.labels.map((label) => label.name), tokenIds: TOXICITY.labels.map((_, i) => 10 + i), prefixTokens: [] };

describe("non-finite class logits", () => {
  for (const value of [Number.NaN, Number.POSITIVE_INFINITY]) {
    it(`rejects a ${value} logit`, () => {
      const logits = new Float32Array(LABELS.names.length).fill(0.5);
      logits[0] = value;

      const evaluate = (): unknown => toResult({ definition: TOXICITY, labels: LABELS }, PROMPT, logits, 1);
      expect(evaluate).toThrow(NonFiniteOutputError);
      expect(evaluate).toThrow(/metric "toxicity".*not finite/);
    });
  }

  it("accepts finite logits", () => {
    const logits = new Float32Array(LABELS.names.length).fill(0.5);
    const result = toResult({ definition: TOXICITY, labels: LABELS }, PROMPT, logits, 1);
    expect(Object.values(result.probabilities).every(Number.isFinite)).toBe(true);
  });
});

describe("content that cannot be written as JSON", () => {
  it("rejects a BigInt tool value", () => {
    expect(() => contentSlots({ input: "x", tools: { n: 1n } })).toThrow(InvalidInputError);
  });

  it("rejects a circular tool call", () => {
    const call: Record<string, unknown> = { name: "search" };
    call.self = call;
    expect(() => contentSlots({ input: "x", toolCall: call })).toThrow(/content\.toolCall cannot be written as JSON/);
  });
});

describe("content far beyond the context", () => {
  it("rejects before tokenizing", async () => {
    const { MAX_CHARACTERS_PER_TOKEN, buildPromptLayout, renderMetricPrompt } = await import("../../src/metrics/prompt.js");
    const { Tokenizer } = await import("../../src/tokenizer/index.js");
    const { meta } = await import("../../src/gguf/metadata.js");

    const metadata = new Map([
      ["tokenizer.ggml.model", meta.str("gpt2")],
      ["tokenizer.ggml.pre", meta.str("qwen2")],
      ["tokenizer.ggml.tokens", meta.strArray(["a", "b", "ab", "Ġ", "<|end|>"])],
      ["tokenizer.ggml.token_type", meta.i32Array([1, 1, 1, 1, 3])],
      ["tokenizer.ggml.merges", meta.strArray(["a b"])],
    ]);
    const tokenizer = Tokenizer.fromMetadata(metadata, "tiny.gguf");
    const layout = buildPromptLayout(tokenizer, undefined);
    const maxTokens = 64;
    const input = "ab ".repeat(maxTokens * MAX_CHARACTERS_PER_TOKEN);

    expect(() => renderMetricPrompt(TOXICITY, { input }, tokenizer, layout, maxTokens)).toThrow(InvalidInputError);
    expect(() => renderMetricPrompt(TOXICITY, { input }, tokenizer, layout, maxTokens)).toThrow(/characters, more than the 2048/);
  });
});
