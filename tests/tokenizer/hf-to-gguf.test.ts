import { describe, expect, it } from "vitest";

import { TokenizerError } from "../../src/errors.js";
import { GGUFValueType, type GGUFMetadataValue } from "../../src/gguf/types.js";
import { tokenizerMetadataFromHF, TokenType } from "../../src/tokenizer/index.js";
import { packageMetadata } from "./fixtures.js";

function value(metadata: Map<string, GGUFMetadataValue>, key: string): unknown {
  return metadata.get(key)?.value;
}

function tokenType(metadata: Map<string, GGUFMetadataValue>, text: string): number {
  const tokens = value(metadata, "tokenizer.ggml.tokens") as string[];
  const types = value(metadata, "tokenizer.ggml.token_type") as number[];
  return types[tokens.indexOf(text)]!;
}

describe("tokenizerMetadataFromHF", () => {
  it("converts the Llama 3 tokenizer", async () => {
    const metadata = await packageMetadata("llama3");
    expect(value(metadata, "tokenizer.ggml.model")).toBe("gpt2");
    expect(value(metadata, "tokenizer.ggml.pre")).toBe("llama-bpe");
    expect((value(metadata, "tokenizer.ggml.tokens") as string[]).length).toBe(128256);
    expect(value(metadata, "tokenizer.ggml.bos_token_id")).toBe(128000);
    expect(value(metadata, "tokenizer.ggml.eos_token_id")).toBe(128001);
    expect(metadata.has("tokenizer.ggml.add_bos_token")).toBe(false);
    expect(tokenType(metadata, "<|eot_id|>")).toBe(TokenType.CONTROL);
    expect(tokenType(metadata, "Hello")).toBe(TokenType.NORMAL);
    expect((value(metadata, "tokenizer.ggml.merges") as string[])[0]).toBe("Ġ Ġ");
    expect(metadata.get("tokenizer.chat_template")?.type).toBe(GGUFValueType.STRING);
  });

  it("converts the Qwen3 tokenizer", async () => {
    const metadata = await packageMetadata("qwen3");
    expect(value(metadata, "tokenizer.ggml.pre")).toBe("qwen2");
    expect((value(metadata, "tokenizer.ggml.tokens") as string[]).length).toBe(151669);
    expect(value(metadata, "tokenizer.ggml.eos_token_id")).toBe(151645);
    expect(value(metadata, "tokenizer.ggml.padding_token_id")).toBe(151643);
    expect(metadata.has("tokenizer.ggml.bos_token_id")).toBe(false);
    expect(value(metadata, "tokenizer.ggml.add_bos_token")).toBe(false);
    expect(tokenType(metadata, "<|im_end|>")).toBe(TokenType.CONTROL);
    // Not special in tokenizer.json, but written like a control token.
    expect(tokenType(metadata, "<|fim_prefix|>")).toBe(TokenType.CONTROL);
    expect(tokenType(metadata, "<think>")).toBe(TokenType.USER_DEFINED);
    expect((value(metadata, "tokenizer.ggml.merges") as string[])[0]).toBe("Ġ Ġ");
  });

  it("pads missing ids with unused tokens", () => {
    const metadata = tokenizerMetadataFromHF(
      { model: { type: "BPE", vocab: { a: 0, b: 1, ab: 3 }, merges: [["a", "b"]] }, added_tokens: [{ id: 5, content: "<|end|>", special: true }] },
      { eos_token: { content: "<|end|>" } },
      { pre: "qwen2" },
    );
    expect(value(metadata, "tokenizer.ggml.tokens")).toEqual(["a", "b", "[PAD2]", "ab", "[PAD4]", "<|end|>"]);
    expect(value(metadata, "tokenizer.ggml.token_type")).toEqual([1, 1, 5, 1, 5, 3]);
    expect(value(metadata, "tokenizer.ggml.merges")).toEqual(["a b"]);
    expect(value(metadata, "tokenizer.ggml.eos_token_id")).toBe(5);
  });

  it("rejects a non-BPE model", () => {
    const convert = () => tokenizerMetadataFromHF({ model: { type: "Unigram", vocab: {}, merges: [] } }, {}, { pre: "default" });
    expect(convert).toThrow(TokenizerError);
    expect(convert).toThrow(/model\.type is "Unigram"/);
  });

  it("rejects an unknown special token", () => {
    const convert = () => tokenizerMetadataFromHF({ model: { vocab: { a: 0 }, merges: [] } }, { bos_token: "<s>" }, { pre: "default" });
    expect(convert).toThrow(/bos_token "<s>" is not in the vocabulary/);
  });
});
