// Turns what the user pasted into the `EvaluationContent` a Judge evaluates: plain text, or a short
// chat transcript with one "User:", "Assistant:" or "System:" prefix per turn.

import { InvalidInputError } from "../errors.js";
import type { EvaluationContent } from "../metrics/index.js";

export type TranscriptRole = "user" | "assistant" | "system";

export interface TranscriptTurn {
  role: TranscriptRole;
  text: string;
}

const TURN_PATTERN = /^\s*(user|assistant|system)\s*:\s?(.*)$/i;

/**
 * Splits a transcript into turns. A line that starts with "User:", "Assistant:" or "System:"
 * (any case) opens a turn, and the lines after it belong to that turn. Returns an empty array when
 * no line opens a turn, so the text is plain content.
 */
export function parseTranscript(text: string): TranscriptTurn[] {
  const turns: TranscriptTurn[] = [];
  for (const line of text.split(/\r?\n/)) {
    const match = TURN_PATTERN.exec(line);
    if (match) {
      turns.push({ role: match[1]!.toLowerCase() as TranscriptRole, text: match[2]! });
    } else if (turns.length > 0) {
      turns.at(-1)!.text += `\n${line}`;
    } else if (line.trim() !== "") {
      // Text before the first turn marker: treat the whole paste as plain text.
      return [];
    }
  }
  return turns.map((turn) => ({ ...turn, text: turn.text.trim() }));
}

/**
 * Builds the content for one evaluation. A transcript maps to: `input` = the last user message,
 * `output` = the assistant reply after it (if any), and `context` = the system turns and all
 * earlier turns as "role: text" lines. Plain text becomes `input`. Throws InvalidInputError when
 * there is nothing to evaluate.
 */
export function contentFromText(text: string, extra: Pick<EvaluationContent, "output" | "context" | "tools" | "toolCall"> = {}): EvaluationContent {
  if (text.trim() === "") throw new InvalidInputError("the content is empty; paste the text or chat transcript to evaluate");
  const turns = parseTranscript(text);
  if (turns.length === 0) return withExtra({ input: text.trim() }, extra);

  const lastUser = turns.map((turn) => turn.role).lastIndexOf("user");
  if (lastUser < 0) throw new InvalidInputError('the transcript has no "User:" turn; add the user message to evaluate, or remove the role prefixes to evaluate plain text');

  const reply = turns.slice(lastUser + 1).find((turn) => turn.role === "assistant");
  const earlier = turns.slice(0, lastUser);
  const content: EvaluationContent = { input: turns[lastUser]!.text };
  if (reply) content.output = reply.text;
  if (earlier.length > 0) content.context = earlier.map((turn) => `${turn.role}: ${turn.text}`).join("\n");
  return withExtra(content, extra);
}

/** Fields typed into their own boxes take precedence over the ones derived from the transcript. */
function withExtra(content: EvaluationContent, extra: Pick<EvaluationContent, "output" | "context" | "tools" | "toolCall">): EvaluationContent {
  const merged: EvaluationContent = { ...content };
  for (const key of ["output", "context", "tools", "toolCall"] as const) {
    const value = extra[key];
    if (value !== undefined && !(typeof value === "string" && value.trim() === "")) merged[key] = value as never;
  }
  return merged;
}

/** Parses a JSON text box (tools, tool call); a value that is not JSON is kept as plain text. Empty gives undefined. */
export function parseJsonField(text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
