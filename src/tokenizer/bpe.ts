// Byte-level BPE tokenization of one text fragment, matching llama.cpp's `llm_tokenizer_bpe`.
// The text is pre-tokenized into words, and each word's UTF-8 bytes are mapped to the byte-level
// alphabet. Then the adjacent pair with the lowest merge rank (the leftmost pair on ties) is merged
// until no listed pair remains.

import { MinHeap } from "./heap.js";
import { preTokenize } from "./pretokenizers.js";
import { toByteLevel } from "./text.js";
import { mergeKey, type Vocab } from "./vocab.js";

interface Bigram {
  left: number;
  right: number;
  rank: number;
  text: string;
}

function mergeWord(word: string, vocab: Vocab): string[] {
  // Llama 3 keeps a word whole when the vocabulary has it, even if the merges would split it.
  if (vocab.ignoreMerges && vocab.tokenToId.has(word)) return [word];

  const pieces = Array.from(word);
  const prev = pieces.map((_, i) => i - 1);
  const next = pieces.map((_, i) => (i + 1 < pieces.length ? i + 1 : -1));

  const queue = new MinHeap<Bigram>((a, b) => (a.rank !== b.rank ? a.rank - b.rank : a.left - b.left));
  const tryAdd = (left: number, right: number): void => {
    if (left < 0 || right < 0) return;
    const rank = vocab.mergeRanks.get(mergeKey(pieces[left]!, pieces[right]!));
    if (rank === undefined) return;
    queue.push({ left, right, rank, text: pieces[left]! + pieces[right]! });
  };

  for (let i = 1; i < pieces.length; i++) tryAdd(i - 1, i);

  while (queue.size > 0) {
    const bigram = queue.pop()!;
    const left = pieces[bigram.left]!;
    const right = pieces[bigram.right]!;

    // Skip pairs made stale by an earlier merge of either side.
    if (left === "" || right === "" || left + right !== bigram.text) continue;

    pieces[bigram.left] = bigram.text;
    pieces[bigram.right] = "";
    next[bigram.left] = next[bigram.right]!;
    if (next[bigram.right]! >= 0) prev[next[bigram.right]!] = bigram.left;

    tryAdd(prev[bigram.left]!, bigram.left);
    tryAdd(bigram.left, next[bigram.left]!);
  }

  return pieces.filter((piece) => piece !== "");
}

/** Appends the tokens of `text` to `output`. */
export function tokenizeBpe(text: string, vocab: Vocab, output: number[]): void {
  for (const word of preTokenize(text, vocab.preKind)) {
    for (const piece of mergeWord(toByteLevel(word), vocab)) {
      const id = vocab.tokenToId.get(piece);
      if (id !== undefined) {
        output.push(id);
        continue;
      }

      // A piece outside the vocabulary falls back to single-byte tokens, and bytes without one are
      // dropped, as llama.cpp does. Only ASCII characters are one byte long in UTF-8.
      for (const char of piece) {
        const charId = char.charCodeAt(0) < 0x80 ? vocab.tokenToId.get(char) : undefined;
        if (charId !== undefined) output.push(charId);
      }
    }
  }
}
