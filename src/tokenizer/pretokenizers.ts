// Pre-tokenizers of byte-level BPE: regular expressions that cut text into words before merging.
// The patterns follow llama.cpp (src/llama-vocab.cpp and src/unicode.cpp in the version bundled
// with node-llama-cpp 3.21.1), with two details that differ from a naive port:
// - llama.cpp's `\s` is the Unicode White_Space property (25 code points, including U+0085 but not
//   U+FEFF), so `\s` is written as `\p{White_Space}` here instead of JavaScript's `\s`.
// - The contraction group is case-insensitive only for ASCII letters (`'[sS]`), because the `i`
//   flag with `u` would also fold U+017F (long s) to "s".
// NOTE: \p{L} and \p{N} come from the JavaScript engine's Unicode version, while llama.cpp uses its
// own generated table. Code points assigned in one version but not the other can split differently.

import type { PreTokenizerKind } from "./vocab.js";

const WS = "\\p{White_Space}";
const CONTRACTIONS_ANY_CASE = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";

// GPT-2 pattern. llama.cpp runs it through a hand-written scanner whose last resort takes a
// whitespace run without the lookahead, which the trailing `|\s+` reproduces.
const GPT2 = `'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^${WS}\\p{L}\\p{N}]+|[${WS}]+(?![^${WS}])|[${WS}]+`;

function llama3Style(digits: string): string {
  return (
    `${CONTRACTIONS_ANY_CASE}|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|${digits}| ?[^${WS}\\p{L}\\p{N}]+[\\r\\n]*` +
    `|[${WS}]*[\\r\\n]+|[${WS}]+(?![^${WS}])|[${WS}]+`
  );
}

/**
 * Patterns per family, applied in order: each pass splits every piece of the previous pass, and the
 * text between two matches stays a piece of its own.
 */
const PATTERNS: Record<PreTokenizerKind, string[]> = {
  default: ["[\\p{P}\\$\\+<=>\\^~\\|]+", GPT2, "\\p{N}+", "[0-9][0-9][0-9]"],
  llama3: [llama3Style("\\p{N}{1,3}")],
  qwen2: [llama3Style("\\p{N}")],
  smollm: ["\\p{N}", GPT2],
  gpt2: [GPT2],
};

const compiled = new Map<PreTokenizerKind, RegExp[]>();

function regexesFor(kind: PreTokenizerKind): RegExp[] {
  let regexes = compiled.get(kind);
  if (regexes === undefined) {
    regexes = PATTERNS[kind].map((pattern) => new RegExp(pattern, "gu"));
    compiled.set(kind, regexes);
  }
  return regexes;
}

function splitOnce(piece: string, regex: RegExp, out: string[]): void {
  let end = 0;
  for (const match of piece.matchAll(regex)) {
    const start = match.index;
    if (start > end) out.push(piece.slice(end, start));
    out.push(match[0]);
    end = start + match[0].length;
  }
  if (end < piece.length) out.push(piece.slice(end));
}

/** Splits `text` into pre-tokens (words) whose concatenation is `text`. */
export function preTokenize(text: string, kind: PreTokenizerKind): string[] {
  let pieces = text.length > 0 ? [text] : [];
  for (const regex of regexesFor(kind)) {
    const next: string[] = [];
    for (const piece of pieces) splitOnce(piece, regex, next);
    pieces = next;
  }
  return pieces;
}
