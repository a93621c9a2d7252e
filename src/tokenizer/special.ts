// Splits text around special-token strings before the tokenizer model runs, the way llama.cpp's
// `tokenizer_st_partition` does. The longest token texts are searched first, and each occurrence
// becomes a fragment with that token's id.

import { TokenAttr, type Vocab } from "./vocab.js";

/** A piece of input: raw text for the tokenizer model, or an already resolved token id. */
export type Fragment = { text: string } | { token: number };

/** Ids of tokens that are matched as whole strings, longest text first. */
export function specialTokenOrder(vocab: Vocab): number[] {
  const mask = TokenAttr.CONTROL | TokenAttr.USER_DEFINED | TokenAttr.UNKNOWN;
  const ids: number[] = [];
  vocab.attrs.forEach((attr, id) => {
    if (attr & mask) ids.push(id);
  });

  // NOTE: llama.cpp sorts with std::sort, so texts of equal length have no defined order there.
  // The order here (lower id first) matters only when two such texts overlap in the input.
  return ids.sort((a, b) => vocab.tokens[b]!.length - vocab.tokens[a]!.length || a - b);
}

/**
 * Splits `text` into fragments. With `parseSpecial` false, CONTROL and UNKNOWN tokens stay plain
 * text, but USER_DEFINED tokens are still matched, as in llama.cpp.
 */
export function partitionSpecial(text: string, vocab: Vocab, order: number[], parseSpecial: boolean): Fragment[] {
  let fragments: Fragment[] = text.length > 0 ? [{ text }] : [];

  for (const id of order) {
    const attr = vocab.attrs[id]!;
    if (!parseSpecial && attr & (TokenAttr.CONTROL | TokenAttr.UNKNOWN)) continue;

    const needle = vocab.tokens[id]!;
    const next: Fragment[] = [];
    for (const fragment of fragments) {
      if (!("text" in fragment) || !fragment.text.includes(needle)) {
        next.push(fragment);
        continue;
      }

      // NOTE: the lstrip/rstrip token attributes that llama.cpp sets for a few model names (Phi-3,
      // Jina, BERT masks) are not implemented, so whitespace next to a special token is kept.
      const parts = fragment.text.split(needle);
      parts.forEach((part, index) => {
        if (index > 0) next.push({ token: id });
        if (part.length > 0) next.push({ text: part });
      });
    }
    fragments = next;
  }
  return fragments;
}
