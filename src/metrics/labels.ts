// Class-token resolution: each label's text becomes a token sequence for the loaded tokenizer, and
// a metric is evaluated by reading the logits of one token per label at the last position.
//
// Labels usually start with distinct tokens (" Yes" and " No" in a byte-level BPE vocabulary), and
// the class token is each label's first token. In a small SentencePiece vocabulary with byte
// fallback, " Yes" and " No" both start with the bytes of "▁" (E2 96 81). Then the tokens that every
// label starts with (`prefixTokens`) are appended to the prompt, and the class token is each
// label's first token after them. The probabilities are then conditional on that shared prefix.

import { LabelTokenError } from "../errors.js";
import type { Tokenizer } from "../tokenizer/index.js";
import type { MetricDefinition } from "./definition.js";

/** The label texts of the metric, encoded the way they follow the answer prefix. */
export interface ResolvedLabels {
  names: string[];
  /** Class token id of each label, in `names` order. */
  tokenIds: number[];
  /** Tokens that every label starts with, placed at the end of the prompt before the class token; empty in most vocabularies. */
  prefixTokens: number[];
}

/**
 * Resolves each label's class token: the first token where the labels' encodings differ. Label
 * texts are written for byte-level BPE, where " Yes" after "Answer:" is one token with its leading
 * space. A SentencePiece tokenizer with add_space_prefix already puts "▁" in front of plain text,
 * so one leading space is dropped first. Throws `LabelTokenError` when a text encodes to nothing,
 * when the labels never differ (one label's tokens start another's), or when two labels share the
 * token where the others differ.
 */
export function resolveLabelTokens(metric: MetricDefinition, tokenizer: Tokenizer): ResolvedLabels {
  const names = metric.labels.map((label) => label.name);
  const encoded = metric.labels.map((label) => {
    const text = tokenizer.kind === "spm" && label.text.startsWith(" ") ? label.text.slice(1) : label.text;
    const ids = tokenizer.encodeText(text);
    if (ids.length === 0) throw new LabelTokenError(metric.id, [label.name], `text ${JSON.stringify(label.text)} encodes to no token; use a non-empty word`);
    return ids;
  });

  // The class tokens sit at the first position where not every label has the same token.
  const position = commonPrefixLength(encoded);
  const ended = names.filter((_, i) => encoded[i]!.length === position);
  if (ended.length > 0) {
    const prefix = JSON.stringify(tokenizer.decode(encoded[0]!.slice(0, position)));
    throw new LabelTokenError(
      metric.id,
      names,
      `label ${ended.map((name) => JSON.stringify(name)).join(", ")} ends within the tokens that every label starts with (${prefix}), so no token tells the labels apart; give the labels texts that differ before one of them ends`,
    );
  }

  const tokenIds = encoded.map((ids) => ids[position]!);
  const byToken = new Map<number, string[]>();
  tokenIds.forEach((id, index) => byToken.set(id, [...(byToken.get(id) ?? []), names[index]!]));
  for (const [id, clashing] of byToken) {
    if (clashing.length > 1) {
      const token = `token ${id} (${JSON.stringify(tokenizer.tokenText(id) ?? "")})`;
      const shared = position === 0 ? `all start with ${token}` : `all have ${token} after the ${position} tokens every label starts with`;
      throw new LabelTokenError(metric.id, clashing, `${shared}, so their probabilities cannot be distinguished; give each label a text that differs from the others at that token`);
    }
  }
  return { names, tokenIds, prefixTokens: encoded[0]!.slice(0, position) };
}

/** Returns how many leading tokens all of `sequences` have in common. */
function commonPrefixLength(sequences: number[][]): number {
  const first = sequences[0] ?? [];
  let length = 0;
  while (length < first.length && sequences.every((ids) => ids.length > length && ids[length] === first[length])) length++;
  return length;
}
