// Class-token resolution: each label's text becomes the id of its first token for the loaded
// tokenizer, and a metric is evaluated by reading the logits of those ids at the last position.

import { LabelTokenError } from "../errors.js";
import type { Tokenizer } from "../tokenizer/index.js";
import type { MetricDefinition } from "./definition.js";

/** The label texts of the metric, encoded the way they follow the answer prefix. */
export interface ResolvedLabels {
  names: string[];
  /** Class token id of each label, in `names` order. */
  tokenIds: number[];
}

/**
 * Returns the first token of each label's text. Label texts are written for byte-level BPE,
 * where " Yes" after "Answer:" is one token with its leading space. A SentencePiece tokenizer with
 * add_space_prefix already puts "▁" in front of plain text, so one leading space is dropped first.
 * Throws `LabelTokenError` when a text encodes to nothing or two labels share their first token.
 */
export function resolveLabelTokens(metric: MetricDefinition, tokenizer: Tokenizer): ResolvedLabels {
  const names = metric.labels.map((label) => label.name);
  const tokenIds = metric.labels.map((label) => {
    const text = tokenizer.kind === "spm" && label.text.startsWith(" ") ? label.text.slice(1) : label.text;
    const ids = tokenizer.encodeText(text);
    if (ids.length === 0) throw new LabelTokenError(metric.id, [label.name], `text ${JSON.stringify(label.text)} encodes to no token; use a non-empty word`);
    return ids[0]!;
  });

  const byToken = new Map<number, string[]>();
  tokenIds.forEach((id, index) => byToken.set(id, [...(byToken.get(id) ?? []), names[index]!]));
  for (const [id, clashing] of byToken) {
    if (clashing.length > 1) {
      const piece = JSON.stringify(tokenizer.tokenText(id) ?? "");
      throw new LabelTokenError(metric.id, clashing, `all start with token ${id} (${piece}), so their probabilities cannot be distinguished; give each label a text with a different first token`);
    }
  }
  return { names, tokenIds };
}
