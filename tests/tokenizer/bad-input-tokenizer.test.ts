// Hostile tokenizer input: token types out of range in GGUF metadata, bad ids in a Hugging Face
// tokenizer.json, and chat templates that loop, recurse or grow without bound.

import { describe, expect, it } from "vitest";

import { TemplateError, TemplateLimitError, TokenizerError } from "../../src/errors.js";
import { meta } from "../../src/gguf/metadata.js";
import type { GGUFMetadataValue } from "../../src/gguf/types.js";
import { renderChatTemplate, Tokenizer, tokenizerMetadataFromHF, type HFTokenizerJson } from "../../src/tokenizer/index.js";

/** Returns the metadata of a four-token SentencePiece vocabulary with the given token types. */
function spmMetadata(types: number[]): Map<string, GGUFMetadataValue> {
  return new Map<string, GGUFMetadataValue>([
    ["tokenizer.ggml.model", meta.str("llama")],
    ["tokenizer.ggml.tokens", meta.strArray(["<unk>", "<s>", "</s>", "\u2581a"])],
    ["tokenizer.ggml.scores", meta.f32Array([0, 0, 0, -1])],
    ["tokenizer.ggml.token_type", meta.i32Array(types)],
  ]);
}

/** Runs `action` and returns the error it throws. */
function thrownBy(action: () => unknown): Error {
  try {
    action();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error, but nothing was thrown");
}

describe("token_type validation", () => {
  it("accepts every defined type", () => {
    expect(() => Tokenizer.fromMetadata(spmMetadata([2, 3, 3, 1]), "ok.gguf")).not.toThrow();
    expect(() => Tokenizer.fromMetadata(spmMetadata([0, 4, 5, 6]), "ok.gguf")).not.toThrow();
  });

  it.each([
    [7, "7"],
    [-1, "-1"],
    [1.5, "1.5"],
    [Number.NaN, "NaN"],
  ])("rejects type %s", (type, shown) => {
    const error = thrownBy(() => Tokenizer.fromMetadata(spmMetadata([2, 3, 3, type]), "bad.gguf"));
    expect(error).toBeInstanceOf(TokenizerError);
    expect(error.message).toContain("bad.gguf");
    expect(error.message).toContain("tokenizer.ggml.token_type");
    expect(error.message).toContain("token 3");
    expect(error.message).toContain(shown);
  });
});

/** Returns a byte-level BPE tokenizer.json with the given vocabulary, one merge and the added tokens. */
function hfJson(vocab: Record<string, number>, addedTokens: HFTokenizerJson["added_tokens"] = []): HFTokenizerJson {
  return { model: { type: "BPE", vocab, merges: ["a b"] }, added_tokens: addedTokens };
}

describe("tokenizer.json ids", () => {
  it("converts valid ids", () => {
    const metadata = tokenizerMetadataFromHF(hfJson({ a: 0, b: 1, ab: 2 }, [{ id: 3, content: "<|end|>", special: true }]), {}, { pre: "default" });
    expect(metadata.get("tokenizer.ggml.tokens")?.value).toEqual(["a", "b", "ab", "<|end|>"]);
  });

  it.each([
    ["negative", -1, "-1"],
    ["fractional", 1.5, "1.5"],
    ["NaN", Number.NaN, "NaN"],
    ["a string", "1", '"1"'],
    ["2^31", 2 ** 31, String(2 ** 31)],
  ])("rejects vocab id: %s", (_name, id, shown) => {
    const error = thrownBy(() => tokenizerMetadataFromHF(hfJson({ a: 0, b: id as number, ab: 2 }), {}, { pre: "default" }));
    expect(error).toBeInstanceOf(TokenizerError);
    expect(error.message).toContain('model.vocab["b"]');
    expect(error.message).toContain(shown);
  });

  it("rejects two texts with one id", () => {
    const error = thrownBy(() => tokenizerMetadataFromHF(hfJson({ a: 0, b: 0, ab: 2 }), {}, { pre: "default" }));
    expect(error).toBeInstanceOf(TokenizerError);
    expect(error.message).toContain("id 0");
    expect(error.message).toContain('"a"');
    expect(error.message).toContain('"b"');
  });

  it.each([
    ["negative", -4, "-4"],
    ["fractional", 3.25, "3.25"],
  ])("rejects added token id: %s", (_name, id, shown) => {
    const error = thrownBy(() => tokenizerMetadataFromHF(hfJson({ a: 0, b: 1, ab: 2 }, [{ id, content: "<|end|>", special: true }]), {}, { pre: "default" }));
    expect(error).toBeInstanceOf(TokenizerError);
    expect(error.message).toContain("added_tokens[0].id");
    expect(error.message).toContain(shown);
  });

  it("rejects an id far past the vocabulary", () => {
    // A lone id of 10^8 would make the converter pad the vocabulary with 10^8 unused tokens.
    const error = thrownBy(() => tokenizerMetadataFromHF(hfJson({ a: 0, b: 1, ab: 2 }, [{ id: 100_000_000, content: "<|end|>", special: true }]), {}, { pre: "default" }));
    expect(error).toBeInstanceOf(TokenizerError);
    expect(error.message).toContain("100000000");
  });
});

const messages = [{ role: "user", content: "hello" }];

describe("chat template limits", () => {
  it("renders a normal template under the limits", () => {
    const text = renderChatTemplate("{% for m in messages %}[{{ m.role }}] {{ m.content }}{% endfor %}", messages, {}, { maxSteps: 1000 });
    expect(text).toBe("[user] hello");
  });

  it("keeps the standard globals", () => {
    const template = "{% if true and not false and none is none %}{{ range(3) | join(',') }}{% endif %}{{ strftime_now('%Y') | length }}";
    expect(renderChatTemplate(template, messages)).toBe("0,1,24");
  });

  it("stops a long loop at the step limit", () => {
    const template = "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}";
    const error = thrownBy(() => renderChatTemplate(template, messages, {}, { maxSteps: 50_000 }));
    expect(error).toBeInstanceOf(TemplateLimitError);
    expect((error as TemplateLimitError).limit).toBe("maxSteps");
    expect(error.message).toContain("50000");
  });

  it("rejects a huge range before building it", () => {
    const started = performance.now();
    const error = thrownBy(() => renderChatTemplate("{% for i in range(1000000000) %}{% endfor %}", messages));
    expect(error).toBeInstanceOf(TemplateLimitError);
    expect(error.message).toContain("range");
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("stops doubling output at the size limit", () => {
    const template = "{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}";
    const error = thrownBy(() => renderChatTemplate(template, messages, {}, { maxValueLength: 100_000 }));
    expect(error).toBeInstanceOf(TemplateLimitError);
    expect((error as TemplateLimitError).limit).toBe("maxValueLength");
  });

  it("stops doubling lists at the size limit", () => {
    const template = "{% set ns = namespace(l=[1]) %}{% for i in range(60) %}{% set ns.l = ns.l + ns.l %}{% endfor %}";
    const error = thrownBy(() => renderChatTemplate(template, messages, {}, { maxValueLength: 100_000 }));
    expect(error).toBeInstanceOf(TemplateLimitError);
    expect((error as TemplateLimitError).limit).toBe("maxValueLength");
  });

  it("stops endless recursion", () => {
    const template = "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}";
    expect(() => renderChatTemplate(template, messages)).toThrow(TemplateError);
  });

  it("stops a slow render at the time limit", () => {
    // Each step is cheap, so the time limit, not the step limit, ends this render.
    const template = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}";
    const started = performance.now();
    const error = thrownBy(() => renderChatTemplate(template, messages, {}, { maxSteps: Number.MAX_SAFE_INTEGER, maxMilliseconds: 200 }));
    expect(error).toBeInstanceOf(TemplateLimitError);
    expect((error as TemplateLimitError).limit).toBe("maxMilliseconds");
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it("lets long content through", () => {
    const content = "x".repeat(3_000_000);
    const text = renderChatTemplate("{{ messages[0].content }}!", [{ role: "user", content }]);
    expect(text.length).toBe(content.length + 1);
  });

  it("rejects invalid limits", () => {
    expect(() => renderChatTemplate("x", messages, {}, { maxSteps: 0 })).toThrow(/maxSteps/);
    expect(() => renderChatTemplate("x", messages, {}, { maxMilliseconds: Number.NaN })).toThrow(/maxMilliseconds/);
  });
});
