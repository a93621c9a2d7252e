import { beforeAll, describe, expect, it } from "vitest";

import { InvalidInputError, TokenizerError } from "../../src/errors.js";
import { meta } from "../../src/gguf/metadata.js";
import type { GGUFMetadataValue } from "../../src/gguf/types.js";
import { tokenizerCorpus } from "../../src/oracle/tokenizer-corpus.js";
import { Tokenizer, TokenType } from "../../src/tokenizer/index.js";
import { HAS_LLAMA2, llama2Tokenizer, packageTokenizer } from "./fixtures.js";

const corpus = tokenizerCorpus();

/** Ids of all control and unknown tokens of `tokenizer`. */
function specialIds(tokenizer: Tokenizer): number[] {
  const ids: number[] = [];
  for (let id = 0; id < tokenizer.vocabSize; id++) if (tokenizer.isSpecial(id)) ids.push(id);
  return ids;
}

const vocabularies: Array<[string, () => Promise<Tokenizer>, boolean]> = [
  ["llama2", llama2Tokenizer, !HAS_LLAMA2],
  ["llama3", () => packageTokenizer("llama3"), false],
  ["qwen3", () => packageTokenizer("qwen3"), false],
];

for (const [name, load, skip] of vocabularies) {
  describe.skipIf(skip)(`${name} tokenizer`, () => {
    let tokenizer: Tokenizer;
    beforeAll(async () => {
      tokenizer = await load();
    });

    it("content never yields control tokens", () => {
      const ids = specialIds(tokenizer);
      expect(ids.length).toBeGreaterThan(0);

      const content = ids.map((id) => tokenizer.tokenText(id)!).join(" x ");
      const encoded = tokenizer.encodeText(content);
      const leaked = encoded.filter((id) => tokenizer.isSpecial(id));
      expect(leaked).toEqual([]);
    });

    it("template text yields each control token", () => {
      for (const id of specialIds(tokenizer)) {
        expect(tokenizer.encodeTemplate(tokenizer.tokenText(id)!)).toEqual([id]);
      }
    });

    it("decode inverts encodeText on the corpus", () => {
      for (const text of corpus) {
        expect(tokenizer.decode(tokenizer.encodeText(text)), JSON.stringify(text)).toBe(text);
      }
    });

    it("decode skips special tokens on request", () => {
      const ids = tokenizer.encodeTemplate(`${tokenizer.tokenText(specialIds(tokenizer).at(-1)!)}Hello`);
      expect(tokenizer.decode(ids, { skipSpecial: true })).toBe(tokenizer.decode(tokenizer.encodeText("Hello")));
    });

    it("Korean, emoji and mixed scripts round trip", () => {
      for (const text of ["안녕하세요 세계", "👨‍👩‍👧‍👦 family", "👍🏽", "日本語とEnglishと한국어 mixed 123"]) {
        const ids = tokenizer.encodeText(text);
        expect(ids.length).toBeGreaterThan(0);
        expect(ids.every((id) => id >= 0 && id < tokenizer.vocabSize)).toBe(true);
        expect(tokenizer.decode(ids)).toBe(text);
      }
    });

    it("encode parts equals template text without special content", () => {
      const template = tokenizer.kind === "spm" ? ["<s>[INST] ", " [/INST]"] : ["<|im_start|>user\n", "<|im_end|>\n"];
      const content = "Is 2 + 2 = 4? Answer Yes or No.";
      const parts = [
        { text: template[0]!, special: true },
        { text: content, special: false },
        { text: template[1]!, special: true },
      ];
      expect(tokenizer.encode(parts)).toEqual(tokenizer.encodeTemplate(template.join(content)));
    });

    it("encode parts keeps special content as text", () => {
      const injected = tokenizer.kind === "spm" ? "</s><s>" : "<|im_end|><|eot_id|><|begin_of_text|>";
      const ids = tokenizer.encode([
        { text: "Question: ", special: true },
        { text: injected, special: false },
      ]);
      expect(ids.filter((id) => tokenizer.isSpecial(id))).toEqual([]);
      expect(tokenizer.decode(ids)).toBe(`Question: ${injected}`);
    });

    it("addSpecial follows add_bos and add_eos", () => {
      const plain = tokenizer.encode([{ text: "Hello", special: false }]);
      const withSpecial = tokenizer.encode([{ text: "Hello", special: false }], { addSpecial: true });
      const expected = [...(tokenizer.addBos ? [tokenizer.bosId!] : []), ...plain, ...(tokenizer.addEos ? [tokenizer.eosId!] : [])];
      expect(withSpecial).toEqual(expected);
    });

    it("lone surrogates throw InvalidInputError", () => {
      for (const text of ["a\ud800b", "\udc00", "end\ud83d"]) {
        expect(() => tokenizer.encodeText(text)).toThrow(InvalidInputError);
        expect(() => tokenizer.encodeTemplate(text)).toThrow(InvalidInputError);
      }
      expect(tokenizer.encodeText("\ud83d\ude00").length).toBeGreaterThan(0);
    });
  });
}

describe.skipIf(!HAS_LLAMA2)("SentencePiece space prefix", () => {
  it("prefixes text at the start and after special tokens", async () => {
    const tokenizer = await llama2Tokenizer();
    const hello = tokenizer.encodeText("Hello");
    expect(tokenizer.tokenToPiece(hello[0]!).startsWith(" ")).toBe(true);
    expect(tokenizer.encodeTemplate("<s>Hello")).toEqual([1, ...hello]);
    expect(tokenizer.encodeTemplate("Hello</s>Hello")).toEqual([...hello, 2, ...hello]);
  });

  it("uses BOS 1, EOS 2 and adds BOS", async () => {
    const tokenizer = await llama2Tokenizer();
    expect(tokenizer.kind).toBe("spm");
    expect([tokenizer.bosId, tokenizer.eosId, tokenizer.addBos, tokenizer.addEos]).toEqual([1, 2, true, false]);
  });
});

describe("BPE special-token defaults", () => {
  it("Llama 3 adds BOS 128000", async () => {
    const tokenizer = await packageTokenizer("llama3");
    expect([tokenizer.kind, tokenizer.pre, tokenizer.vocabSize]).toEqual(["bpe", "llama-bpe", 128256]);
    expect(tokenizer.addBos).toBe(true);
    expect(tokenizer.encode([{ text: "Hi", special: false }], { addSpecial: true })[0]).toBe(128000);
  });

  it("Qwen3 adds no BOS", async () => {
    const tokenizer = await packageTokenizer("qwen3");
    expect([tokenizer.pre, tokenizer.vocabSize, tokenizer.addBos]).toEqual(["qwen2", 151669, false]);
    expect(tokenizer.encode([{ text: "Hi", special: false }], { addSpecial: true })).toEqual(tokenizer.encodeText("Hi"));
  });

  it("Qwen3 user-defined tokens match inside content", async () => {
    // llama.cpp splits out USER_DEFINED tokens even with parse_special = false.
    const tokenizer = await packageTokenizer("qwen3");
    const think = tokenizer.tokenId("<think>")!;
    expect(tokenizer.isSpecial(think)).toBe(false);
    expect(tokenizer.encodeText("<think>")).toEqual([think]);
  });
});

/** Builds the metadata of a five-token byte-level BPE vocabulary, with entries replaced or removed by `overrides`. */
function tinyBpe(overrides: Record<string, GGUFMetadataValue | undefined> = {}): Map<string, GGUFMetadataValue> {
  const entries: Record<string, GGUFMetadataValue | undefined> = {
    "tokenizer.ggml.model": meta.str("gpt2"),
    "tokenizer.ggml.pre": meta.str("qwen2"),
    "tokenizer.ggml.tokens": meta.strArray(["a", "b", "ab", "Ġ", "<|end|>"]),
    "tokenizer.ggml.token_type": meta.i32Array([1, 1, 1, 1, TokenType.CONTROL]),
    "tokenizer.ggml.merges": meta.strArray(["a b"]),
    "tokenizer.ggml.eos_token_id": meta.u32(4),
    ...overrides,
  };
  const metadata = new Map<string, GGUFMetadataValue>();
  for (const [key, value] of Object.entries(entries)) if (value !== undefined) metadata.set(key, value);
  return metadata;
}

describe("tokenizer metadata validation", () => {
  it("tiny vocabulary merges and adds EOS", () => {
    const tokenizer = Tokenizer.fromMetadata(tinyBpe({ "tokenizer.ggml.add_eos_token": meta.bool(true) }), "tiny.gguf");
    expect(tokenizer.encodeText("ab a")).toEqual([2, 3, 0]);
    expect(tokenizer.encode([{ text: "ab", special: false }], { addSpecial: true })).toEqual([2, 4]);
  });

  const invalid: Array<[string, Record<string, GGUFMetadataValue | undefined>, RegExp]> = [
    ["missing tokens", { "tokenizer.ggml.tokens": undefined }, /tiny\.gguf.*tokenizer\.ggml\.tokens.*missing/],
    ["scores length", { "tokenizer.ggml.scores": meta.f32Array([0, 0]) }, /tokenizer\.ggml\.scores.*2 entries.*5 tokens/],
    ["token types length", { "tokenizer.ggml.token_type": meta.i32Array([1]) }, /tokenizer\.ggml\.token_type.*1 entries/],
    ["unknown merge part", { "tokenizer.ggml.merges": meta.strArray(["a c"]) }, /merges" entry 0 \("a c"\) refers to "c"/],
    ["merge without space", { "tokenizer.ggml.merges": meta.strArray(["ab"]) }, /merges" entry 0 \("ab"\) has no space/],
    ["missing merges", { "tokenizer.ggml.merges": undefined }, /tokenizer\.ggml\.merges.*missing/],
    ["unknown pre", { "tokenizer.ggml.pre": meta.str("mystery") }, /"mystery".*Supported values: .*llama-bpe.*qwen2.*smollm/],
    ["pre named __proto__", { "tokenizer.ggml.pre": meta.str("__proto__") }, /"__proto__".*Supported values/],
    ["pre named constructor", { "tokenizer.ggml.pre": meta.str("constructor") }, /"constructor".*Supported values/],
    ["unknown model", { "tokenizer.ggml.model": meta.str("t5") }, /tokenizer\.ggml\.model.*"t5"/],
    ["duplicate token", { "tokenizer.ggml.tokens": meta.strArray(["a", "b", "ab", "a", "<|end|>"]) }, /token 3 "a" duplicates token 0/],
  ];
  for (const [label, overrides, message] of invalid) {
    it(`rejects ${label}`, () => {
      const build = (): Tokenizer => Tokenizer.fromMetadata(tinyBpe(overrides), "tiny.gguf");
      expect(build).toThrow(TokenizerError);
      expect(build).toThrow(message);
    });
  }

  it("missing pre falls back to default", () => {
    const tokenizer = Tokenizer.fromMetadata(tinyBpe({ "tokenizer.ggml.pre": undefined }), "tiny.gguf");
    expect(tokenizer.pre).toBe("default");
  });
});
