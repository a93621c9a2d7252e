// Hostile prompt input: content whose first characters merge with the template head's last token,
// then truncation; and invalid maxTokens values.

import { existsSync } from "node:fs";
import { join } from "node:path";

import { beforeAll, describe, expect, it } from "vitest";

import { InvalidInputError } from "../../src/errors.js";
import { DEFAULT_SHARED_DIR, SHARED_INPUTS, llama2VocabularyFromFile } from "../../src/fixtures/registry.js";
import { loadVocabulary } from "../../src/fixtures/vocab.js";
import { GGUFValueType } from "../../src/gguf/types.js";
import { TOXICITY } from "../../src/metrics/builtins.js";
import type { MetricDefinition } from "../../src/metrics/definition.js";
import { buildPromptLayout, contentSlots, renderMetricPrompt, type PromptLayout } from "../../src/metrics/prompt.js";
import { Tokenizer } from "../../src/tokenizer/index.js";

const LLAMA2_TEMPLATE = "{{ bos_token }}{% for message in messages %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% endfor %}";
const LLAMA2_VOCABULARY = join(DEFAULT_SHARED_DIR, SHARED_INPUTS.llama2Vocabulary);

/** A metric whose content part is the input alone, so the input starts right after the template head. */
const BARE_INPUT: MetricDefinition = { ...TOXICITY, id: "bare-input", template: { ...TOXICITY.template, content: "{input}" } };

interface Format {
  tokenizer: Tokenizer;
  layout: PromptLayout;
}

const formats: Record<string, Format> = {};

beforeAll(async () => {
  for (const kind of ["qwen3-bpe", "llama3-bpe"] as const) {
    const metadata = await loadVocabulary(kind, { chatTemplate: true });
    const template = metadata.get("tokenizer.chat_template");
    if (template?.type !== GGUFValueType.STRING) throw new Error(`${kind} has no chat template`);
    const tokenizer = Tokenizer.fromMetadata(metadata, kind);
    formats[kind] = { tokenizer, layout: buildPromptLayout(tokenizer, template.value as string) };
  }
  if (existsSync(LLAMA2_VOCABULARY)) {
    const tokenizer = Tokenizer.fromMetadata(await llama2VocabularyFromFile(LLAMA2_VOCABULARY), "llama2");
    formats.llama2 = { tokenizer, layout: buildPromptLayout(tokenizer, LLAMA2_TEMPLATE) };
  } else {
    console.warn(`bad-input prompt tests: ${LLAMA2_VOCABULARY} is missing, so the Llama 2 case is skipped`);
  }
}, 120_000);

describe.each([
  ["qwen3-bpe", "\n\n"],
  ["llama3-bpe", "\n\n"],
  ["llama2", "word"],
])("%s truncation at the head boundary", (name, start) => {
  it(`keeps the head when content starts with ${JSON.stringify(start)}`, (context) => {
    const format = formats[name];
    if (format === undefined) return context.skip();
    const { tokenizer, layout } = format;
    const input = start + Array.from({ length: 300 }, (_, i) => `w${i}`).join(" ");

    const full = renderMetricPrompt(BARE_INPUT, contentSlots({ input }), tokenizer, layout, 4096);
    const limit = full.contentTokens.length + full.suffixTokens.length - 40;
    const cut = renderMetricPrompt(BARE_INPUT, contentSlots({ input }), tokenizer, layout, limit);

    expect(cut.droppedTokens).toBeGreaterThan(0);
    expect(cut.contentTokens.length + cut.suffixTokens.length).toBeLessThanOrEqual(limit);
    const head = tokenizer.decode(layout.headTokens);
    expect(tokenizer.decode(cut.contentTokens).startsWith(head)).toBe(true);
    // The kept content is the end of the input.
    expect(tokenizer.decode(cut.contentTokens).endsWith("w299")).toBe(true);
  });
});

describe("maxTokens validation", () => {
  it.each([0, -3, 1.5, Number.NaN, Number.POSITIVE_INFINITY])("rejects %s", (maxTokens) => {
    const { tokenizer, layout } = formats["qwen3-bpe"]!;
    const action = (): unknown => renderMetricPrompt(TOXICITY, contentSlots({ input: "hello" }), tokenizer, layout, maxTokens);
    expect(action).toThrow(InvalidInputError);
    expect(action).toThrow(/maxTokens/);
    expect(action).toThrow(String(maxTokens));
  });
});
