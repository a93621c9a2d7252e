// Label resolution when every label starts with the same tokens, as in a SentencePiece vocabulary
// with byte pieces only (stories260K), where " Yes" and " No" both begin with the bytes of "▁".

import { existsSync } from "node:fs";
import { join } from "node:path";

import { beforeAll, describe, expect, it } from "vitest";

import { LabelTokenError } from "../../src/errors.js";
import { DEFAULT_SHARED_DIR, SHARED_INPUTS, ensureFixture, fixtureUnavailableReason, llama2VocabularyFromFile } from "../../src/fixtures/registry.js";
import { loadVocabulary } from "../../src/fixtures/vocab.js";
import { GGUFValueType, type GGUFMetadataValue } from "../../src/gguf/types.js";
import { BUILTIN_METRICS, HALLUCINATION, TOXICITY } from "../../src/metrics/builtins.js";
import type { MetricDefinition } from "../../src/metrics/definition.js";
import { Judge } from "../../src/metrics/judge.js";
import { resolveLabelTokens } from "../../src/metrics/labels.js";
import { buildPromptLayout, contentSlots, renderMetricPrompt } from "../../src/metrics/prompt.js";
import { calibratedProbabilities } from "../../src/metrics/calibration.js";
import { Tokenizer, TokenType } from "../../src/tokenizer/index.js";

const LLAMA2_VOCABULARY = join(DEFAULT_SHARED_DIR, SHARED_INPUTS.llama2Vocabulary);

/** Builds a SentencePiece tokenizer with <unk>, <s>, </s> and the 256 byte pieces only, like the stories260K conversion. */
function byteVocabulary(): Tokenizer {
  const bytes = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
  const tokens = ["<unk>", "<s>", "</s>", ...bytes];
  const types = [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL, ...bytes.map(() => TokenType.BYTE)];
  const metadata = new Map<string, GGUFMetadataValue>([
    ["tokenizer.ggml.model", { type: GGUFValueType.STRING, value: "llama" }],
    ["tokenizer.ggml.tokens", { type: GGUFValueType.ARRAY, elementType: GGUFValueType.STRING, value: tokens }],
    ["tokenizer.ggml.scores", { type: GGUFValueType.ARRAY, elementType: GGUFValueType.FLOAT32, value: tokens.map(() => 0) }],
    ["tokenizer.ggml.token_type", { type: GGUFValueType.ARRAY, elementType: GGUFValueType.INT32, value: types }],
  ]);
  return Tokenizer.fromMetadata(metadata, "byte-spm");
}

/** Id of the byte piece for `byte` in `byteVocabulary()`. */
function byteId(byte: number): number {
  return 3 + byte;
}

// UTF-8 of "▁" (U+2581), the SentencePiece space marker.
const SPACE_MARKER_BYTES = [0xe2, 0x96, 0x81].map(byteId);

function withLabels(texts: string[]): MetricDefinition {
  return { ...TOXICITY, labels: texts.map((text, i) => ({ name: `label${i}`, text })) };
}

describe("resolveLabelTokens", () => {
  let bpe: Tokenizer;

  beforeAll(async () => {
    bpe = Tokenizer.fromMetadata(await loadVocabulary("llama3-bpe"), "llama3-bpe");
  }, 120_000);

  it("moves a shared byte prefix out of the labels", () => {
    const labels = resolveLabelTokens(TOXICITY, byteVocabulary());
    expect(labels.prefixTokens).toEqual(SPACE_MARKER_BYTES);
    expect(labels.tokenIds).toEqual([byteId(0x59), byteId(0x4e)]);
    expect(labels.names).toEqual(["toxic", "not_toxic"]);
  });

  it("keeps distinct first tokens with no prefix", () => {
    const labels = resolveLabelTokens(TOXICITY, bpe);
    expect(labels.prefixTokens).toEqual([]);
    expect(labels.tokenIds).toEqual([bpe.encodeText(" Yes")[0], bpe.encodeText(" No")[0]]);
  });

  it("resolves every built-in metric on a byte vocabulary", () => {
    const tokenizer = byteVocabulary();
    for (const metric of Object.values(BUILTIN_METRICS)) {
      const labels = resolveLabelTokens(metric, tokenizer);
      expect(new Set(labels.tokenIds).size, metric.id).toBe(metric.labels.length);
    }
  });

  it("rejects labels that never differ", () => {
    const metric = withLabels([" Yes", " Yes please"]);
    for (const tokenizer of [bpe, byteVocabulary()]) {
      try {
        resolveLabelTokens(metric, tokenizer);
        expect.unreachable("expected LabelTokenError");
      } catch (error) {
        expect(error).toBeInstanceOf(LabelTokenError);
        expect((error as LabelTokenError).labels).toEqual(["label0", "label1"]);
        expect((error as Error).message).toContain('label "label0" ends within the tokens');
      }
    }
  });

  it("rejects a clash after the shared prefix", () => {
    try {
      resolveLabelTokens(withLabels([" Yes", " Yep", " No"]), byteVocabulary());
      expect.unreachable("expected LabelTokenError");
    } catch (error) {
      expect(error).toBeInstanceOf(LabelTokenError);
      expect((error as LabelTokenError).labels).toEqual(["label0", "label1"]);
      expect((error as Error).message).toContain("after the 3 tokens every label starts with");
    }
  });
});

describe("renderMetricPrompt with a label prefix", () => {
  it("ends the suffix with the label prefix", () => {
    const tokenizer = byteVocabulary();
    const layout = buildPromptLayout(tokenizer, undefined);
    const { prefixTokens } = resolveLabelTokens(TOXICITY, tokenizer);
    const prompt = renderMetricPrompt(TOXICITY, contentSlots({ input: "hi" }), tokenizer, layout, 4096, prefixTokens);

    expect(prompt.suffixTokens.slice(-3)).toEqual(SPACE_MARKER_BYTES);
    const withoutPrefix = renderMetricPrompt(TOXICITY, contentSlots({ input: "hi" }), tokenizer, layout, 4096);
    expect(prompt.suffixTokens.slice(0, -3)).toEqual(withoutPrefix.suffixTokens);
    expect(prompt.contentTokens).toEqual(withoutPrefix.contentTokens);
  });

  it("drops the space marker before the question", () => {
    const tokenizer = byteVocabulary();
    const layout = buildPromptLayout(tokenizer, undefined);
    const prompt = renderMetricPrompt(HALLUCINATION, contentSlots({ context: "c", input: "q", output: "a" }), tokenizer, layout, 4096);

    // The suffix starts with the two newlines that separate it from the content.
    expect(prompt.suffixTokens.slice(0, 2)).toEqual([byteId(0x0a), byteId(0x0a)]);
    expect(tokenizer.decode(prompt.suffixTokens)).toBe(`\n\n${HALLUCINATION.template.suffix.replaceAll(" ", "▁")}\n${HALLUCINATION.template.answerPrefix}`);
  });

  it.skipIf(!existsSync(LLAMA2_VOCABULARY))("drops the lone ▁ token in Llama 2", async () => {
    const tokenizer = Tokenizer.fromMetadata(await llama2VocabularyFromFile(LLAMA2_VOCABULARY), "llama2");
    const layout = buildPromptLayout(tokenizer, undefined);
    const prompt = renderMetricPrompt(TOXICITY, contentSlots({ input: "hi" }), tokenizer, layout, 4096);
    const newline = tokenizer.tokenId("<0x0A>");

    expect(prompt.suffixTokens.slice(0, 2)).toEqual([newline, newline]);
    expect(tokenizer.decode([...prompt.contentTokens, ...prompt.suffixTokens], { skipSpecial: true })).toBe(`Text:\nhi\n\n${TOXICITY.template.suffix}\nAnswer:`);
  });
});

// stories260K: the real byte-piece model, on the CPU reference.
const storiesMissing = fixtureUnavailableReason("stories260k");
if (storiesMissing) console.warn(`stories260K label tests skipped: ${storiesMissing}`);

describe.skipIf(storiesMissing !== undefined)("Judge on stories260K", () => {
  const content = { input: "Lily found a red ball in the park.", output: "She played with it.", context: "A story about a ball.", tools: [{ name: "throw_ball" }], toolCall: { name: "throw_ball" } };
  let judge: Judge;

  beforeAll(async () => {
    judge = await Judge.create({ model: await ensureFixture("stories260k"), backend: "cpu" });
  }, 120_000);

  it("registers every built-in metric", () => {
    expect(judge.metricIds).toEqual(Object.keys(BUILTIN_METRICS));
  });

  it("reads class logits after the label prefix", async () => {
    const [result] = await judge.evaluate(content, { metrics: ["toxicity"] });
    const prompt = judge.renderPrompt(content, "toxicity");
    const labels = resolveLabelTokens(TOXICITY, judge.tokenizer);
    expect(prompt.suffixTokens.slice(-labels.prefixTokens.length)).toEqual(labels.prefixTokens);

    const { logits } = judge.model.forward([...prompt.contentTokens, ...prompt.suffixTokens], { classTokenIds: labels.tokenIds });
    const expected = calibratedProbabilities(logits, labels.names, TOXICITY.calibration);
    expect(result!.probabilities.toxic).toBeCloseTo(expected[0]!, 6);
    expect(result!.probabilities.not_toxic).toBeCloseTo(expected[1]!, 6);
  });

  it("gives metrics together the probabilities of each alone", async () => {
    const together = await judge.evaluate(content);
    for (const result of together) {
      const [alone] = await judge.evaluate(content, { metrics: [result.metric] });
      for (const [label, probability] of Object.entries(alone!.probabilities)) {
        expect(Math.abs(result.probabilities[label]! - probability), `${result.metric} ${label}`).toBeLessThan(1e-5);
      }
    }
  });
});
