// Conversion of a Hugging Face byte-level BPE tokenizer (tokenizer.json + tokenizer_config.json)
// into GGUF `tokenizer.ggml.*` metadata, following the token-type rules of llama.cpp's
// convert_hf_to_gguf.py. Added tokens that are special, or look special (`<|...|>`), become
// CONTROL, other added tokens become USER_DEFINED, and ids without a token become UNUSED padding.

import { TokenizerError } from "../errors.js";
import { meta } from "../gguf/metadata.js";
import type { GGUFMetadataValue } from "../gguf/types.js";
import { TokenType } from "./vocab.js";

/** The fields of tokenizer.json that the conversion reads. */
export interface HFTokenizerJson {
  model: { type?: string; vocab: Record<string, number>; merges: Array<string | [string, string]> };
  added_tokens?: Array<{ id: number; content: string; special: boolean }>;
}

type HFTokenValue = string | { content: string } | null | undefined;

/** The fields of tokenizer_config.json that the conversion reads. */
export interface HFTokenizerConfig {
  bos_token?: HFTokenValue;
  eos_token?: HFTokenValue;
  pad_token?: HFTokenValue;
  add_bos_token?: boolean;
  add_eos_token?: boolean;
  chat_template?: string | Array<{ name: string; template: string }>;
}

export interface HFConversionOptions {
  /** Value for `tokenizer.ggml.pre`, for example "llama-bpe" or "qwen2". */
  pre: string;
  /** Overrides the BOS token text from tokenizer_config.json (Qwen3 keeps it in config.json). */
  bosToken?: string;
  eosToken?: string;
  padToken?: string;
}

/**
 * Maximum unused ids between the tokens of tokenizer.json; each becomes an UNUSED padding token.
 * NOTE: the value is a guess that leaves room for padded vocabularies and rejects a damaged id far
 * past the others, which would otherwise allocate one padding token per missing id.
 */
const MAX_UNUSED_IDS = 65_536;

/** Throws `TokenizerError` unless `id` is an integer token id from 0 to 2^31 - 1 (llama.cpp stores ids as int32). */
function checkTokenId(id: unknown, field: string): asserts id is number {
  if (typeof id === "number" && Number.isInteger(id) && id >= 0 && id <= 0x7fffffff) return;
  const printed = typeof id === "number" ? String(id) : JSON.stringify(id);
  throw new TokenizerError(`tokenizer.json: ${field} is ${printed}, but token ids must be integers from 0 to ${0x7fffffff}. Fix the id in tokenizer.json`);
}

function tokenText(value: HFTokenValue): string | undefined {
  if (value === null || value === undefined) return undefined;
  return typeof value === "string" ? value : value.content;
}

function looksSpecial(text: string): boolean {
  return (text.startsWith("<|") && text.endsWith("|>")) || (text.startsWith("<｜") && text.endsWith("｜>"));
}

function defaultChatTemplate(template: HFTokenizerConfig["chat_template"]): string | undefined {
  if (typeof template === "string" || template === undefined) return template;
  return template.find((entry) => entry.name === "default")?.template;
}

/**
 * Returns GGUF tokenizer metadata for a byte-level BPE tokenizer. Throws `TokenizerError` when
 * the model is not BPE, an id is not a non-negative integer, ids collide, the ids leave more than
 * `MAX_UNUSED_IDS` gaps, or a named special token is not in the vocabulary.
 */
export function tokenizerMetadataFromHF(
  tokenizerJson: HFTokenizerJson,
  tokenizerConfig: HFTokenizerConfig,
  options: HFConversionOptions,
): Map<string, GGUFMetadataValue> {
  const modelType = tokenizerJson.model.type ?? "BPE";
  if (modelType !== "BPE") {
    throw new TokenizerError(`tokenizer.json: model.type is "${modelType}", but only byte-level "BPE" tokenizers can be converted`);
  }

  const byId = new Map<number, { text: string; type: TokenType }>();
  for (const [text, id] of Object.entries(tokenizerJson.model.vocab)) {
    checkTokenId(id, `model.vocab[${JSON.stringify(text)}]`);
    const existing = byId.get(id);
    if (existing !== undefined) {
      throw new TokenizerError(`tokenizer.json: model.vocab gives id ${id} to both ${JSON.stringify(existing.text)} and ${JSON.stringify(text)}; every id must name one token, so fix the vocabulary`);
    }
    byId.set(id, { text, type: TokenType.NORMAL });
  }
  for (const [index, added] of (tokenizerJson.added_tokens ?? []).entries()) {
    checkTokenId(added.id, `added_tokens[${index}].id`);
    const existing = byId.get(added.id);
    if (existing !== undefined && existing.text !== added.content) {
      throw new TokenizerError(`tokenizer.json: added token ${JSON.stringify(added.content)} reuses id ${added.id} of ${JSON.stringify(existing.text)}. Fix the id in added_tokens.`);
    }
    const control = added.special || looksSpecial(added.content);
    byId.set(added.id, {
      text: control ? added.content : added.content.replaceAll("\u2581", " "),
      type: control ? TokenType.CONTROL : TokenType.USER_DEFINED,
    });
  }

  let size = 0;
  for (const id of byId.keys()) size = Math.max(size, id + 1);
  if (size - byId.size > MAX_UNUSED_IDS) {
    throw new TokenizerError(
      `tokenizer.json: the highest token id is ${size - 1}, but only ${byId.size} ids have a token, so ${size - byId.size} unused ids would pad the vocabulary (at most ${MAX_UNUSED_IDS} are accepted). Fix the ids in model.vocab and added_tokens`,
    );
  }
  const tokens: string[] = [];
  const types: number[] = [];
  for (let id = 0; id < size; id++) {
    const entry = byId.get(id);
    tokens.push(entry?.text ?? `[PAD${id}]`);
    types.push(entry?.type ?? TokenType.UNUSED);
  }

  const merges = tokenizerJson.model.merges.map((merge) => (typeof merge === "string" ? merge : merge.join(" ")));

  const idOf = new Map(tokens.map((text, id) => [text, id]));
  const lookup = (field: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    const id = idOf.get(text);
    if (id === undefined) {
      throw new TokenizerError(`tokenizer_config.json: ${field} ${JSON.stringify(text)} is not in the vocabulary. Pass the correct token text in the conversion options.`);
    }
    return id;
  };

  const metadata = new Map<string, GGUFMetadataValue>([
    ["tokenizer.ggml.model", meta.str("gpt2")],
    ["tokenizer.ggml.pre", meta.str(options.pre)],
    ["tokenizer.ggml.tokens", meta.strArray(tokens)],
    ["tokenizer.ggml.token_type", meta.i32Array(types)],
    ["tokenizer.ggml.merges", meta.strArray(merges)],
  ]);

  const specialIds: Array<[string, string, string | undefined]> = [
    ["tokenizer.ggml.bos_token_id", "bos_token", options.bosToken ?? tokenText(tokenizerConfig.bos_token)],
    ["tokenizer.ggml.eos_token_id", "eos_token", options.eosToken ?? tokenText(tokenizerConfig.eos_token)],
    ["tokenizer.ggml.padding_token_id", "pad_token", options.padToken ?? tokenText(tokenizerConfig.pad_token)],
  ];
  for (const [key, field, text] of specialIds) {
    const id = lookup(field, text);
    if (id !== undefined) metadata.set(key, meta.u32(id));
  }

  if (typeof tokenizerConfig.add_bos_token === "boolean") metadata.set("tokenizer.ggml.add_bos_token", meta.bool(tokenizerConfig.add_bos_token));
  if (typeof tokenizerConfig.add_eos_token === "boolean") metadata.set("tokenizer.ggml.add_eos_token", meta.bool(tokenizerConfig.add_eos_token));

  const template = defaultChatTemplate(tokenizerConfig.chat_template);
  if (template !== undefined) metadata.set("tokenizer.chat_template", meta.str(template));
  return metadata;
}
