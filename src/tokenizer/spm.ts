// SentencePiece-style tokenization of one text fragment, matching llama.cpp's `llm_tokenizer_spm`.
// It starts from single characters and repeatedly merges the adjacent pair whose concatenation is
// the vocabulary entry with the highest score (the leftmost pair on ties). Each remaining piece is
// emitted as its token, or as byte tokens `<0xNN>` when the vocabulary lacks it.

import { TokenizerError } from "../errors.js";
import { MinHeap } from "./heap.js";
import { utf8Bytes } from "./text.js";
import type { Vocab } from "./vocab.js";

interface Symbol {
  text: string;
  prev: number;
  next: number;
}

interface Bigram {
  left: number;
  right: number;
  score: number;
  text: string;
}

function byteToken(vocab: Vocab, byte: number): number {
  const hex = byte.toString(16).toUpperCase().padStart(2, "0");
  const id = vocab.tokenToId.get(`<0x${hex}>`) ?? (byte < 0x80 ? vocab.tokenToId.get(String.fromCharCode(byte)) : undefined);
  if (id === undefined) {
    throw new TokenizerError(`SentencePiece vocabulary has no byte token <0x${hex}>, so a character outside the vocabulary cannot be encoded. Use a model whose vocabulary has the 256 byte fallback tokens.`);
  }
  return id;
}

/** Appends the tokens of `text` (spaces already replaced by "▁") to `output`. */
export function tokenizeSpm(text: string, vocab: Vocab, output: number[]): void {
  const chars = Array.from(text);
  const symbols: Symbol[] = chars.map((char, index) => ({
    text: char,
    prev: index - 1,
    next: index + 1 < chars.length ? index + 1 : -1,
  }));
  if (symbols.length === 0) return;

  // Highest score first, and on equal scores the leftmost pair first.
  const queue = new MinHeap<Bigram>((a, b) => (a.score !== b.score ? b.score - a.score : a.left - b.left));
  const tryAdd = (left: number, right: number): void => {
    if (left < 0 || right < 0) return;
    const merged = symbols[left]!.text + symbols[right]!.text;
    const id = vocab.tokenToId.get(merged);
    if (id === undefined) return;
    queue.push({ left, right, score: vocab.scores[id]!, text: merged });
  };

  for (let i = 1; i < symbols.length; i++) tryAdd(i - 1, i);

  while (queue.size > 0) {
    const bigram = queue.pop()!;
    const left = symbols[bigram.left]!;
    const right = symbols[bigram.right]!;

    // Skip pairs made stale by an earlier merge of either side.
    if (left.text === "" || right.text === "" || left.text + right.text !== bigram.text) continue;

    left.text = bigram.text;
    right.text = "";
    left.next = right.next;
    if (right.next >= 0) symbols[right.next]!.prev = bigram.left;

    tryAdd(left.prev, bigram.left);
    tryAdd(bigram.left, left.next);
  }

  for (let i = 0; i !== -1; i = symbols[i]!.next) {
    const piece = symbols[i]!.text;
    const id = vocab.tokenToId.get(piece);
    if (id !== undefined) {
      output.push(id);
      continue;
    }
    for (const byte of utf8Bytes(piece)) output.push(byteToken(vocab, byte));
  }
}
