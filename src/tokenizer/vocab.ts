// Vocabulary loading from GGUF `tokenizer.ggml.*` metadata, with the defaults and token-type rules
// of llama.cpp's vocabulary loader (src/llama-vocab.cpp, as bundled with node-llama-cpp 3.21.1).

import { TokenizerError } from "../errors.js";
import { GGUFValueType, type GGUFMetadataValue } from "../gguf/types.js";

/** Token types as stored in `tokenizer.ggml.token_type` (llama.cpp's `llama_token_type`). */
export enum TokenType {
  UNDEFINED = 0,
  NORMAL = 1,
  UNKNOWN = 2,
  CONTROL = 3,
  USER_DEFINED = 4,
  UNUSED = 5,
  BYTE = 6,
}

/** Token attribute bits. A token can carry two, for example USER_DEFINED | CONTROL. */
export const TokenAttr = {
  UNDEFINED: 0,
  UNKNOWN: 1 << 0,
  UNUSED: 1 << 1,
  NORMAL: 1 << 2,
  CONTROL: 1 << 3,
  USER_DEFINED: 1 << 4,
  BYTE: 1 << 5,
} as const;

const ATTR_BY_TYPE: Record<number, number> = {
  [TokenType.NORMAL]: TokenAttr.NORMAL,
  [TokenType.UNKNOWN]: TokenAttr.UNKNOWN,
  [TokenType.CONTROL]: TokenAttr.CONTROL,
  [TokenType.USER_DEFINED]: TokenAttr.USER_DEFINED,
  [TokenType.UNUSED]: TokenAttr.UNUSED,
  [TokenType.BYTE]: TokenAttr.BYTE,
};

/**
 * Token texts that llama.cpp treats as end-of-generation markers and forces to CONTROL when a file
 * marks them otherwise (the list in llama-vocab.cpp of the version above).
 */
const FORCED_CONTROL_TEXTS = new Set([
  "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
  "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
  "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
  "<｜end▁of▁sentence｜>", "[e~[",
]);

export type VocabKind = "spm" | "bpe";

/** Pre-tokenizer families this library implements; see pretokenizers.ts. */
export type PreTokenizerKind = "default" | "llama3" | "qwen2" | "smollm" | "gpt2";

/** `tokenizer.ggml.pre` values and the family each selects, as llama.cpp maps them. */
export const PRE_TOKENIZER_NAMES: Readonly<Record<string, PreTokenizerKind>> = {
  default: "default",
  llama3: "llama3",
  "llama-v3": "llama3",
  "llama-bpe": "llama3",
  falcon3: "llama3",
  "falcon-h1": "llama3",
  pixtral: "llama3",
  "midm-2.0": "llama3",
  lfm2: "llama3",
  qwen2: "qwen2",
  "deepseek-r1-qwen": "qwen2",
  smollm: "smollm",
  "gpt-2": "gpt2",
};

export interface Vocab {
  kind: VocabKind;
  /** `pre` as written in the file, or "default" when the key is absent (BPE only). */
  pre: string;
  preKind: PreTokenizerKind;
  tokens: string[];
  scores: Float32Array;
  attrs: Uint8Array;
  tokenToId: Map<string, number>;
  /** BPE merge ranks keyed by `mergeKey(left, right)`, empty for SPM. */
  mergeRanks: Map<string, number>;
  /** Llama-3 style: a whole pre-token found in the vocabulary is emitted without merging. */
  ignoreMerges: boolean;
  bosId: number | undefined;
  eosId: number | undefined;
  unkId: number | undefined;
  padId: number | undefined;
  addBos: boolean;
  addEos: boolean;
  addSpacePrefix: boolean;
}

/**
 * Returns the attribute bits of a `tokenizer.ggml.token_type` value. Throws `TokenizerError` for a
 * value that is not a `TokenType` (an integer from 0 to 6).
 */
function attrOfType(type: number, id: number, name: string): number {
  if (Number.isInteger(type) && type >= TokenType.UNDEFINED && type <= TokenType.BYTE) return ATTR_BY_TYPE[type] ?? TokenAttr.UNDEFINED;
  throw new TokenizerError(
    `${describe(name, "tokenizer.ggml.token_type")}: token ${id} has type ${type}, but valid types are integers from ${TokenType.UNDEFINED} to ${TokenType.BYTE}. The file is damaged or was written by an unknown converter, so re-export the tokenizer metadata`,
  );
}

/** Key of a merge pair. The length prefix keeps ("a b", "c") and ("a", "b c") apart. */
export function mergeKey(left: string, right: string): string {
  return `${left.length}:${left}${right}`;
}

function describe(name: string, key: string): string {
  return `${name}: metadata "${key}"`;
}

function readStringArray(metadata: Map<string, GGUFMetadataValue>, key: string, name: string): string[] | undefined {
  const entry = metadata.get(key);
  if (entry === undefined) return undefined;
  if (entry.type !== GGUFValueType.ARRAY || entry.elementType !== GGUFValueType.STRING) {
    throw new TokenizerError(`${describe(name, key)} must be an array of strings. Re-export the model's tokenizer metadata`);
  }
  return entry.value as string[];
}

function readNumberArray(metadata: Map<string, GGUFMetadataValue>, key: string, name: string): number[] | undefined {
  const entry = metadata.get(key);
  if (entry === undefined) return undefined;
  const numeric = [GGUFValueType.INT32, GGUFValueType.FLOAT32];
  if (entry.type !== GGUFValueType.ARRAY || !numeric.includes(entry.elementType)) {
    throw new TokenizerError(`${describe(name, key)} must be an array of INT32 or FLOAT32 values. Re-export the model's tokenizer metadata`);
  }
  return entry.value as number[];
}

function readScalar(metadata: Map<string, GGUFMetadataValue>, key: string): GGUFMetadataValue["value"] | undefined {
  const entry = metadata.get(key);
  if (entry === undefined || entry.type === GGUFValueType.ARRAY) return undefined;
  return entry.value;
}

function readTokenId(metadata: Map<string, GGUFMetadataValue>, key: string, fallback: number | undefined, count: number): number | undefined {
  const value = readScalar(metadata, key);
  const fallbackInRange = fallback !== undefined && fallback < count ? fallback : undefined;
  if (value === undefined) return fallbackInRange;

  // llama.cpp ignores an out-of-range id and keeps its default.
  const id = Number(value);
  return Number.isInteger(id) && id >= 0 && id < count ? id : fallbackInRange;
}

function readBool(metadata: Map<string, GGUFMetadataValue>, key: string, fallback: boolean): boolean {
  const value = readScalar(metadata, key);
  return typeof value === "boolean" ? value : fallback;
}

function resolvePre(metadata: Map<string, GGUFMetadataValue>, name: string): { pre: string; preKind: PreTokenizerKind } {
  const value = readScalar(metadata, "tokenizer.ggml.pre");
  // llama.cpp warns and uses the default pre-tokenizer when the key is missing.
  if (value === undefined) return { pre: "default", preKind: "default" };

  const pre = String(value);
  // Object.hasOwn: names such as "constructor" must not resolve through the prototype.
  const preKind = Object.hasOwn(PRE_TOKENIZER_NAMES, pre) ? PRE_TOKENIZER_NAMES[pre] : undefined;
  if (preKind === undefined) {
    throw new TokenizerError(
      `${describe(name, "tokenizer.ggml.pre")} is "${pre}", which this tokenizer does not implement. ` +
        `Supported values: ${Object.keys(PRE_TOKENIZER_NAMES).join(", ")}`,
    );
  }
  return { pre, preKind };
}

function readMerges(merges: string[], tokenToId: Map<string, number>, name: string): Map<string, number> {
  const ranks = new Map<string, number>();
  merges.forEach((merge, rank) => {
    // The separator is the first space after the first character, as in llama.cpp.
    const split = merge.indexOf(" ", 1);
    if (split < 0) {
      throw new TokenizerError(
        `${describe(name, "tokenizer.ggml.merges")} entry ${rank} (${JSON.stringify(merge)}) has no space. Each merge must be two token texts separated by a space.`,
      );
    }

    const left = merge.slice(0, split);
    const right = merge.slice(split + 1);
    for (const part of [left, right, left + right]) {
      if (!tokenToId.has(part)) {
        throw new TokenizerError(
          `${describe(name, "tokenizer.ggml.merges")} entry ${rank} (${JSON.stringify(merge)}) refers to ${JSON.stringify(part)}, which is not in tokenizer.ggml.tokens. The merges do not belong to this vocabulary, so re-export the tokenizer metadata.`,
        );
      }
    }

    const key = mergeKey(left, right);
    if (!ranks.has(key)) ranks.set(key, rank);
  });
  return ranks;
}

/** Reads and validates the vocabulary. `name` (a file name) prefixes every error message. */
export function loadVocab(metadata: Map<string, GGUFMetadataValue>, name = "model"): Vocab {
  const model = readScalar(metadata, "tokenizer.ggml.model");
  if (model !== "llama" && model !== "gpt2") {
    const found = model === undefined ? "missing" : `"${String(model)}"`;
    throw new TokenizerError(`${describe(name, "tokenizer.ggml.model")} is ${found}. Supported values: "llama" (SentencePiece), "gpt2" (byte-level BPE)`);
  }
  const kind: VocabKind = model === "llama" ? "spm" : "bpe";

  const storedTokens = readStringArray(metadata, "tokenizer.ggml.tokens", name);
  if (storedTokens === undefined || storedTokens.length === 0) {
    throw new TokenizerError(`${describe(name, "tokenizer.ggml.tokens")} is missing or empty, so the file has no vocabulary`);
  }
  const tokens = [...storedTokens];
  const count = tokens.length;

  const rawScores = readNumberArray(metadata, "tokenizer.ggml.scores", name);
  if (rawScores !== undefined && rawScores.length !== count) {
    throw new TokenizerError(`${describe(name, "tokenizer.ggml.scores")} has ${rawScores.length} entries but there are ${count} tokens, and the lengths must match`);
  }
  const types = readNumberArray(metadata, "tokenizer.ggml.token_type", name);
  if (types !== undefined && types.length !== count) {
    throw new TokenizerError(`${describe(name, "tokenizer.ggml.token_type")} has ${types.length} entries but there are ${count} tokens, and the lengths must match`);
  }

  const tokenToId = new Map<string, number>();
  const scores = new Float32Array(count);
  const attrs = new Uint8Array(count);
  for (let id = 0; id < count; id++) {
    // llama.cpp renames empty tokens so that every text stays unique.
    const text = tokens[id] === "" ? `[EMPTY_${id}]` : tokens[id]!;
    tokens[id] = text;
    if (tokenToId.has(text)) {
      throw new TokenizerError(`${describe(name, "tokenizer.ggml.tokens")}: token ${id} ${JSON.stringify(text)} duplicates token ${tokenToId.get(text)}; every token text must be unique`);
    }
    tokenToId.set(text, id);
    scores[id] = rawScores?.[id] ?? 0;
    attrs[id] = types === undefined ? TokenAttr.NORMAL : attrOfType(types[id]!, id, name);
    if (FORCED_CONTROL_TEXTS.has(text)) attrs[id] = attrs[id]! | TokenAttr.CONTROL;
  }

  let pre = "";
  let preKind: PreTokenizerKind = "default";
  let mergeRanks = new Map<string, number>();
  if (kind === "bpe") {
    ({ pre, preKind } = resolvePre(metadata, name));
    const merges = readStringArray(metadata, "tokenizer.ggml.merges", name);
    if (merges === undefined) {
      throw new TokenizerError(`${describe(name, "tokenizer.ggml.merges")} is missing; a "gpt2" tokenizer needs its merge list`);
    }
    mergeRanks = readMerges(merges, tokenToId, name);
  }

  // Defaults from llama.cpp: SPM uses ids 1/2/0 for BOS/EOS/UNK and adds BOS. BPE defaults to id 11
  // for BOS and EOS and adds BOS only for the Llama 3 family.
  const spm = kind === "spm";
  return {
    kind,
    pre,
    preKind,
    tokens,
    scores,
    attrs,
    tokenToId,
    mergeRanks,
    ignoreMerges: preKind === "llama3",
    bosId: readTokenId(metadata, "tokenizer.ggml.bos_token_id", spm ? 1 : 11, count),
    eosId: readTokenId(metadata, "tokenizer.ggml.eos_token_id", spm ? 2 : 11, count),
    unkId: readTokenId(metadata, "tokenizer.ggml.unknown_token_id", spm ? 0 : undefined, count),
    padId: readTokenId(metadata, "tokenizer.ggml.padding_token_id", undefined, count),
    addBos: readBool(metadata, "tokenizer.ggml.add_bos_token", spm || preKind === "llama3"),
    addEos: readBool(metadata, "tokenizer.ggml.add_eos_token", false),
    addSpacePrefix: readBool(metadata, "tokenizer.ggml.add_space_prefix", spm),
  };
}
