// The cut BPE vocabulary of the bench models: kept ids, merges closed over the kept tokens, BOS/EOS.

import { describe, expect, it } from "vitest";

import { cutVocabulary, loadCutLlama3Vocabulary, BOS_TOKEN, EOS_TOKEN } from "../../src/bench/vocabulary.js";
import { TokenizerError } from "../../src/errors.js";
import { GGUFValueType, type GGUFMetadataValue } from "../../src/gguf/types.js";
import type { HFTokenizerJson } from "../../src/tokenizer/hf-to-gguf.js";

function strings(entry: GGUFMetadataValue | undefined): string[] {
  if (entry?.type !== GGUFValueType.ARRAY) throw new Error("expected an array metadata value");
  return entry.value as string[];
}

function scalar(entry: GGUFMetadataValue | undefined): unknown {
  if (entry === undefined || entry.type === GGUFValueType.ARRAY) throw new Error("expected a scalar metadata value");
  return entry.value;
}

// 256 byte tokens ("b0" .. "b255" stand in for them), then "ab" (256) and "abc" (257) built by merges.
function smallSource(): HFTokenizerJson {
  const vocab: Record<string, number> = {};
  for (let id = 0; id < 256; id++) vocab[`b${id}`] = id;
  vocab["a"] = 10_000; // out of the cut on purpose
  vocab["b0b1"] = 256;
  vocab["b0b1b2"] = 257;
  vocab["b3b4"] = 258;
  return { model: { type: "BPE", vocab, merges: ["b0 b1", "b0b1 b2", "b3 b4", "a b1"] } };
}

describe("cutVocabulary", () => {
  it("keeps the first ids and closed merges", () => {
    const cut = cutVocabulary(smallSource(), { size: 260 });
    const tokens = strings(cut.metadata.get("tokenizer.ggml.tokens"));
    expect(tokens).toHaveLength(260);
    expect(tokens.slice(256, 258)).toEqual(["b0b1", "b0b1b2"]);
    expect(tokens.slice(258)).toEqual([BOS_TOKEN, EOS_TOKEN]);
    // "b3 b4" makes id 258, which the cut drops; "a b1" uses a dropped part.
    expect(strings(cut.metadata.get("tokenizer.ggml.merges"))).toEqual(["b0 b1", "b0b1 b2"]);
    expect(cut.keptMerges).toBe(2);
    expect(cut.sourceMerges).toBe(4);
  });

  it("points BOS and EOS at the control tokens", () => {
    const cut = cutVocabulary(smallSource(), { size: 260 });
    expect(scalar(cut.metadata.get("tokenizer.ggml.bos_token_id"))).toBe(258);
    expect(scalar(cut.metadata.get("tokenizer.ggml.eos_token_id"))).toBe(259);
    expect(scalar(cut.metadata.get("tokenizer.ggml.pre"))).toBe("smollm");
  });

  it("rejects a size without room for the bytes", () => {
    expect(() => cutVocabulary(smallSource(), { size: 257 })).toThrow(TokenizerError);
  });

  it("rejects a source with gaps in its ids", () => {
    const source = smallSource();
    delete source.model.vocab["b7"];
    expect(() => cutVocabulary(source, { size: 260 })).toThrow(/expected 258/);
  });
});

describe("loadCutLlama3Vocabulary", () => {
  it("cuts Llama 3 to 49,152 tokens", async () => {
    const cut = await loadCutLlama3Vocabulary();
    const tokens = strings(cut.metadata.get("tokenizer.ggml.tokens"));
    expect(tokens).toHaveLength(49_152);
    expect(cut.keptTokens).toBe(49_150);

    const kept = new Set(tokens);
    const merges = strings(cut.metadata.get("tokenizer.ggml.merges"));
    expect(merges.length).toBe(cut.keptMerges);
    const open = merges.filter((merge) => {
      const [left, right] = merge.split(" ") as [string, string];
      return !kept.has(left) || !kept.has(right) || !kept.has(left + right);
    });
    expect(open.slice(0, 5)).toEqual([]);
  });
});
