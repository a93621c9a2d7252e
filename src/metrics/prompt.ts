// Prompt rendering: a metric's content part and suffix become token ids. The backbone's chat
// template (or a plain layout without one) supplies the turn markers, which are the only text
// tokenized with special tokens. Request content is always tokenized as plain text, so a
// `<|im_end|>` or `</s>` inside it stays ordinary text and cannot end the turn.
//
// Token layout of one metric:
//   content tokens = [BOS] + template head (markers before the user message) + content part
//   suffix tokens  = "\n\n" + question + template tail (end of turn, generation prompt) + answer prefix
//                    + label prefix (tokens every label starts with; usually none, see labels.ts)
// The head and the content part are tokenized as one string, as llama.cpp would. The content part
// and the suffix are tokenized apart, so metrics with different suffixes share the content tokens.
// A SentencePiece tokenizer with add_space_prefix puts "▁" before text that starts its input. The
// suffix does not start the prompt, so that "▁" is removed from its front (see dropSpacePrefix).

import { InvalidInputError, TemplateError, TemplateSlotError } from "../errors.js";
import { assertWellFormed } from "../tokenizer/text.js";
import { renderChatTemplate, type Tokenizer } from "../tokenizer/index.js";
import { templateSlots, type MetricDefinition, type TemplateSlot } from "./definition.js";

/** Request content passed to `Judge.evaluate`. Tools and tool calls may be JSON values, which are rendered as indented JSON. */
export interface EvaluationContent {
  input?: string;
  output?: string;
  context?: string;
  tools?: unknown;
  toolCall?: unknown;
}

/** Template text around the user message, computed once per model. */
export interface PromptLayout {
  /** True when the model's chat template produced the layout, false for the plain fallback. */
  chat: boolean;
  /** Template text before the user message. */
  head: string;
  /** Tokens before the user message: BOS when the tokenizer adds one, then the head tokenized alone. */
  headTokens: number[];
  /** Text after the user message up to the answer: end of turn and the generation prompt. */
  tail: string;
}

export interface MetricPrompt {
  metric: string;
  /** [BOS] + head + content part; the span that metrics with the same content share. */
  contentTokens: number[];
  /** Question + tail + answer prefix; an activated adapter acts on exactly these tokens. */
  suffixTokens: number[];
  /** Content tokens removed from the start of the content part to fit the context window; 0 when none. */
  droppedTokens: number;
}

// A private-use marker that no chat template alters, used to find where the user message goes.
const MESSAGE_MARKER = "\u{F0000}tokenjudge-user-message\u{F0000}";
const QUESTION_SEPARATOR = "\n\n";
const PLAIN_TAIL = "\n";

/**
 * Characters of content accepted per token of context. Text averages 3 to 5 characters per
 * token, so 32 leaves room for truncation to keep a full window while bounding tokenizer work.
 */
export const MAX_CHARACTERS_PER_TOKEN = 32;

/**
 * Computes the layout from `chatTemplate` (the GGUF `tokenizer.chat_template`), or the plain
 * layout when it is undefined: no head, and the answer prefix on the line after the question.
 * Throws `TemplateError` when the template drops or repeats the user message.
 */
export function buildPromptLayout(tokenizer: Tokenizer, chatTemplate: string | undefined): PromptLayout {
  const bos = tokenizer.addBos && tokenizer.bosId !== undefined ? tokenizer.bosId : undefined;
  if (chatTemplate === undefined) return { chat: false, head: "", headTokens: bos === undefined ? [] : [bos], tail: PLAIN_TAIL };

  const rendered = renderChatTemplate(chatTemplate, [{ role: "user", content: MESSAGE_MARKER }], {
    addGenerationPrompt: true,
    bosToken: tokenizer.bosId === undefined ? "" : (tokenizer.tokenText(tokenizer.bosId) ?? ""),
    eosToken: tokenizer.eosId === undefined ? "" : (tokenizer.tokenText(tokenizer.eosId) ?? ""),
    enable_thinking: false,
  });
  const start = rendered.indexOf(MESSAGE_MARKER);
  if (start < 0 || rendered.indexOf(MESSAGE_MARKER, start + 1) >= 0) {
    throw new TemplateError(
      `chat template rendered the user message ${start < 0 ? "zero" : "several"} times; tokenjudge needs it exactly once, so pass a template with one user turn`,
    );
  }

  const head = rendered.slice(0, start);
  return { chat: true, head, headTokens: withBos(tokenizer.encodeTemplate(head), bos), tail: rendered.slice(start + MESSAGE_MARKER.length) };
}

/** Prepends `bos` unless it is undefined or the tokens already start with it (templates that write bos_token). */
function withBos(tokens: number[], bos: number | undefined): number[] {
  if (bos === undefined || tokens[0] === bos) return tokens;
  return [bos, ...tokens];
}

/**
 * Checks the request fields and returns the slot values: each non-empty field as text, tools and
 * tool calls that are not strings as indented JSON. Throws `InvalidInputError` when every field
 * is empty or one contains a lone UTF-16 surrogate.
 */
export function contentSlots(content: EvaluationContent): Partial<Record<TemplateSlot, string>> {
  const fields: [TemplateSlot, string, unknown][] = [
    ["input", "input", content.input],
    ["output", "output", content.output],
    ["context", "context", content.context],
    ["tools", "tools", content.tools],
    ["tool_call", "toolCall", content.toolCall],
  ];
  const slots: Partial<Record<TemplateSlot, string>> = {};

  for (const [slot, field, value] of fields) {
    if (value === undefined || value === null) continue;
    let text: string | undefined;
    try {
      text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
    } catch (error) {
      throw new InvalidInputError(`evaluate: content.${field} cannot be written as JSON (${(error as Error).message}); pass a string or a plain JSON value`);
    }
    if (text === undefined) throw new InvalidInputError(`evaluate: content.${field} cannot be written as JSON; pass a string or a JSON value`);
    assertWellFormed(text, `evaluate: content.${field}`);
    if (text.trim() !== "") slots[slot] = text;
  }

  if (Object.keys(slots).length === 0) {
    throw new InvalidInputError("evaluate: the content is empty; pass a non-empty input, output, context, tools or toolCall");
  }
  return slots;
}

/**
 * Renders and tokenizes one metric. `labelPrefix` is the metric's `ResolvedLabels.prefixTokens`,
 * appended to the suffix so that the last position predicts the class token. When content and
 * suffix together exceed `maxTokens`, the start of the content part is dropped and the end kept
 * (the head and suffix always stay), and `droppedTokens` counts the content tokens removed. Throws
 * `TemplateSlotError` for a slot the request leaves empty, and `InvalidInputError` when the suffix
 * alone does not fit.
 */
export function renderMetricPrompt(
  metric: MetricDefinition,
  slots: Partial<Record<TemplateSlot, string>>,
  tokenizer: Tokenizer,
  layout: PromptLayout,
  maxTokens: number,
  labelPrefix: readonly number[] = [],
): MetricPrompt {
  if (!Number.isInteger(maxTokens) || maxTokens < 1) {
    throw new InvalidInputError(`metric "${metric.id}": maxTokens is ${maxTokens}; pass a positive integer, at most the model's context length`);
  }
  for (const slot of templateSlots(metric.template.content)) {
    if (slots[slot] === undefined) throw new TemplateSlotError(metric.id, slot);
  }

  // One pass over the template, so a slot value that contains "{output}" is not substituted again.
  const contentText = metric.template.content.replace(/\{([a-z_]+)\}/g, (whole, name: string) => slots[name as TemplateSlot] ?? whole);

  // Content far beyond the context window would be tokenized only to be dropped, which takes
  // seconds per megabyte; reject it before tokenizing.
  const maxCharacters = maxTokens * MAX_CHARACTERS_PER_TOKEN;
  if (contentText.length > maxCharacters) {
    throw new InvalidInputError(
      `metric "${metric.id}": the content is ${contentText.length} characters, more than the ${maxCharacters} this ${maxTokens}-token context accepts (${MAX_CHARACTERS_PER_TOKEN} per token); keep the part to judge, for example the last ${maxCharacters} characters`,
    );
  }
  const bos = tokenizer.addBos ? tokenizer.bosId : undefined;
  const joined = withBos(tokenizer.encode([{ text: layout.head, special: true }, { text: contentText, special: false }]), bos);

  // The tokens that match the head tokenized alone stay fixed; truncation starts after them.
  let fixedLength = 0;
  while (fixedLength < layout.headTokens.length && joined[fixedLength] === layout.headTokens[fixedLength]) fixedLength++;
  // A token can span the end of the head and the start of the content: the head's last "\n" merges
  // with content that starts with "\n\n", and Llama 2's "[INST] " space joins the first word. Such
  // tokens stay fixed as well, with the content characters they cover, so truncation never cuts the head.
  if (fixedLength < layout.headTokens.length) {
    const headLength = tokenizer.decode(layout.headTokens).length;
    while (fixedLength < joined.length && tokenizer.decode(joined.slice(0, fixedLength)).length < headLength) fixedLength++;
  }
  const fixedTokens = joined.slice(0, fixedLength);
  let bodyTokens = joined.slice(fixedLength);

  const questionTokens = tokenizer.encode([
    { text: QUESTION_SEPARATOR + metric.template.suffix, special: false },
    { text: layout.tail, special: true },
    { text: metric.template.answerPrefix ?? "", special: false },
  ]);
  const suffixTokens = [...dropSpacePrefix(questionTokens, tokenizer), ...labelPrefix];

  const available = maxTokens - fixedTokens.length - suffixTokens.length;
  if (available < 1) {
    throw new InvalidInputError(
      `metric "${metric.id}": the template head and suffix take ${fixedTokens.length + suffixTokens.length} tokens, leaving no room for content in a ${maxTokens}-token context; shorten the metric's question`,
    );
  }
  const droppedTokens = Math.max(0, bodyTokens.length - available);
  if (droppedTokens > 0) bodyTokens = bodyTokens.slice(droppedTokens);

  return { metric: metric.id, contentTokens: [...fixedTokens, ...bodyTokens], suffixTokens, droppedTokens };
}

/**
 * Removes the tokens of the SentencePiece space prefix from the front of `tokens`, the encoding of
 * text that starts with QUESTION_SEPARATOR. The prefix is found by encoding "\n" alone: a result
 * longer than the newline token is the prefix ("▁", or its bytes E2 96 81 in a byte-fallback
 * vocabulary) followed by the newline. Byte-level BPE adds no prefix, and tokens are returned
 * unchanged. A prefix token that stays alone merged with nothing, so the rest is what the text
 * without it encodes to.
 */
function dropSpacePrefix(tokens: number[], tokenizer: Tokenizer): number[] {
  if (tokenizer.kind !== "spm") return tokens;
  const newline = tokenizer.encodeText("\n");
  const prefix = newline.slice(0, -1);
  if (prefix.length === 0) return tokens;
  return prefix.every((id, i) => tokens[i] === id) ? tokens.slice(prefix.length) : tokens;
}

/** Returns the length of the longest token prefix common to every prompt's content tokens. */
export function sharedPrefixLength(prompts: MetricPrompt[]): number {
  if (prompts.length === 0) return 0;
  const first = prompts[0]!.contentTokens;
  let length = first.length;
  for (const prompt of prompts.slice(1)) {
    let i = 0;
    while (i < length && i < prompt.contentTokens.length && prompt.contentTokens[i] === first[i]) i++;
    length = i;
  }
  return length;
}
