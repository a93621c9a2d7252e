// The tokenizer of a GGUF model: SentencePiece ("llama") or byte-level BPE ("gpt2") vocabularies,
// with llama.cpp's handling of special tokens, BOS/EOS and the SentencePiece space prefix.

import type { GGUFMetadataValue } from "../gguf/types.js";
import { tokenizeBpe } from "./bpe.js";
import { partitionSpecial, specialTokenOrder, type Fragment } from "./special.js";
import { tokenizeSpm } from "./spm.js";
import { assertWellFormed, fromByteLevel, utf8Bytes, utf8Text } from "./text.js";
import { loadVocab, TokenAttr, type Vocab, type VocabKind } from "./vocab.js";

/** One piece of input for `Tokenizer.encode`: template markup (`special: true`) or content. */
export interface EncodePart {
  text: string;
  /** True for template text whose special-token strings become special tokens. */
  special: boolean;
}

/** The part of a GGUFFile (src/gguf/reader.ts) that the tokenizer reads. */
export interface GGUFMetadataSource {
  readonly metadata: Map<string, GGUFMetadataValue>;
  readonly name: string;
}

export class Tokenizer {
  readonly kind: VocabKind;
  readonly vocabSize: number;
  readonly bosId: number | undefined;
  readonly eosId: number | undefined;
  readonly addBos: boolean;
  readonly addEos: boolean;
  /** The BPE pre-tokenizer name (`tokenizer.ggml.pre`, "default" when absent); "" for SentencePiece. */
  readonly pre: string;

  private readonly specialOrder: number[];

  private constructor(private readonly vocab: Vocab) {
    this.kind = vocab.kind;
    this.vocabSize = vocab.tokens.length;
    this.bosId = vocab.bosId;
    this.eosId = vocab.eosId;
    this.addBos = vocab.addBos;
    this.addEos = vocab.addEos;
    this.pre = vocab.pre;
    this.specialOrder = specialTokenOrder(vocab);
  }

  /** Builds a tokenizer from `tokenizer.ggml.*` metadata. Throws `TokenizerError` on invalid entries. */
  static fromMetadata(metadata: Map<string, GGUFMetadataValue>, name?: string): Tokenizer {
    return new Tokenizer(loadVocab(metadata, name));
  }

  static fromGGUF(file: GGUFMetadataSource): Tokenizer {
    return Tokenizer.fromMetadata(file.metadata, file.name);
  }

  /**
   * Encodes content as plain text: control and unknown token strings such as `</s>` or
   * `<|im_end|>` become ordinary tokens, and no BOS/EOS is added. User-defined tokens (for example
   * Qwen3's `<think>`) are still matched, as llama.cpp does with parse_special = false.
   */
  encodeText(text: string): number[] {
    return this.encode([{ text, special: false }]);
  }

  /** Encodes template text, turning special-token strings into their tokens; adds no BOS/EOS. */
  encodeTemplate(text: string): number[] {
    return this.encode([{ text, special: true }]);
  }

  /**
   * Encodes the concatenation of `parts`. Special-token strings are parsed only inside parts with
   * `special: true`. Apart from that, the result equals llama.cpp's tokenization of the joined text.
   * With `addSpecial`, BOS and EOS are added according to the file's add_bos/add_eos flags.
   */
  encode(parts: EncodePart[], options: { addSpecial?: boolean } = {}): number[] {
    const fragments: Fragment[] = [];
    parts.forEach((part, index) => {
      assertWellFormed(part.text, `encode: parts[${index}].text`);
      for (const fragment of partitionSpecial(part.text, this.vocab, this.specialOrder, part.special)) {
        // Text that meets text across a part boundary is tokenized as one run, as in the joined string.
        const last = fragments[fragments.length - 1];
        if ("text" in fragment && last !== undefined && "text" in last) {
          fragments[fragments.length - 1] = { text: last.text + fragment.text };
        } else {
          fragments.push(fragment);
        }
      }
    });

    const output: number[] = [];
    const addSpecial = options.addSpecial ?? false;
    if (addSpecial && this.addBos && this.bosId !== undefined) output.push(this.bosId);

    // SentencePiece: llama.cpp prefixes a space to every text fragment that starts the input or
    // follows a special token, when add_space_prefix is set.
    let afterSpecial = true;
    for (const fragment of fragments) {
      if ("token" in fragment) {
        output.push(fragment.token);
        afterSpecial = true;
        continue;
      }

      if (this.vocab.kind === "spm") {
        const prefixed = this.vocab.addSpacePrefix && afterSpecial ? ` ${fragment.text}` : fragment.text;
        tokenizeSpm(prefixed.replaceAll(" ", "\u2581"), this.vocab, output);
      } else {
        tokenizeBpe(fragment.text, this.vocab, output);
      }
      afterSpecial = false;
    }

    if (addSpecial && this.addEos && this.eosId !== undefined) output.push(this.eosId);
    return output;
  }

  /**
   * Decodes ids to text. Control and unknown tokens are written as their text unless
   * `skipSpecial` is set; SentencePiece output loses the one space the encoder prefixed.
   * Unlike llama.cpp's detokenizer, no clean-up of spaces before punctuation is applied.
   */
  decode(ids: number[], options: { skipSpecial?: boolean } = {}): string {
    const chunks: Uint8Array[] = [];
    let first = true;
    for (const id of ids) {
      const bytes = this.pieceBytes(id, options.skipSpecial ?? false);
      if (bytes.length === 0) continue;

      const stripSpace = first && this.vocab.kind === "spm" && this.vocab.addSpacePrefix && bytes[0] === 0x20;
      chunks.push(stripSpace ? bytes.subarray(1) : bytes);
      first = false;
    }

    const joined = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
    let offset = 0;
    for (const chunk of chunks) {
      joined.set(chunk, offset);
      offset += chunk.length;
    }
    return utf8Text(joined);
  }

  /** Returns the text one token stands for, special tokens included; may be part of a character. */
  tokenToPiece(id: number): string {
    return utf8Text(this.pieceBytes(id, false));
  }

  /** True for control and unknown tokens, the ones `decode` drops with `skipSpecial`. */
  isSpecial(id: number): boolean {
    return ((this.vocab.attrs[id] ?? 0) & (TokenAttr.CONTROL | TokenAttr.UNKNOWN)) !== 0;
  }

  /** Returns the id of the token whose stored text is `text`, or undefined. */
  tokenId(text: string): number | undefined {
    return this.vocab.tokenToId.get(text);
  }

  /** Returns the stored text of token `id` (byte-level or "▁" form), or undefined when out of range. */
  tokenText(id: number): string | undefined {
    return this.vocab.tokens[id];
  }

  private pieceBytes(id: number, skipSpecial: boolean): Uint8Array {
    const text = this.vocab.tokens[id];
    const attr = this.vocab.attrs[id] ?? 0;
    if (text === undefined) return new Uint8Array(0);
    if (attr & (TokenAttr.CONTROL | TokenAttr.UNKNOWN)) return skipSpecial ? new Uint8Array(0) : utf8Bytes(text);
    if (attr & TokenAttr.USER_DEFINED) return utf8Bytes(text);

    if (attr & TokenAttr.NORMAL) {
      if (this.vocab.kind === "spm") return utf8Bytes(text.replaceAll("\u2581", " "));
      return fromByteLevel(text) ?? utf8Bytes(text);
    }

    if (attr & TokenAttr.BYTE && this.vocab.kind === "spm") {
      const match = /^<0x([0-9A-Fa-f]{2})>$/.exec(text);
      if (match !== null) return Uint8Array.of(parseInt(match[1]!, 16));
    }
    // Unused and undefined tokens decode to nothing, as in llama.cpp.
    return new Uint8Array(0);
  }
}
