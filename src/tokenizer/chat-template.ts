// Chat template rendering with @huggingface/jinja, the Jinja subset that Hugging Face chat
// templates (`tokenizer.chat_template`) are written in.

import { Template } from "@huggingface/jinja";

import { TemplateError } from "../errors.js";

export interface ChatMessage {
  role: string;
  content: string;
}

export interface ChatTemplateOptions {
  /** Appends the header that opens the assistant's turn. */
  addGenerationPrompt?: boolean;
  bosToken?: string;
  eosToken?: string;
  /** Further template variables, such as `enable_thinking` for Qwen3. */
  [variable: string]: unknown;
}

const parsedTemplates = new Map<string, Template>();

function parseTemplate(template: string): Template {
  let parsed = parsedTemplates.get(template);
  if (parsed !== undefined) return parsed;

  try {
    parsed = new Template(template);
  } catch (cause) {
    throw new TemplateError(`chat template failed to parse: ${(cause as Error).message}. Check the template text in tokenizer.chat_template.`, { cause });
  }
  parsedTemplates.set(template, parsed);
  return parsed;
}

/**
 * Renders `messages` with a Jinja chat template. The template receives the variables `messages`,
 * `add_generation_prompt`, `bos_token`, `eos_token`, and every extra option under its own name.
 */
export function renderChatTemplate(template: string, messages: ChatMessage[], options: ChatTemplateOptions = {}): string {
  const { addGenerationPrompt, bosToken, eosToken, ...extra } = options;
  const parsed = parseTemplate(template);

  try {
    return parsed.render({
      ...extra,
      messages,
      add_generation_prompt: addGenerationPrompt ?? false,
      bos_token: bosToken ?? "",
      eos_token: eosToken ?? "",
    });
  } catch (cause) {
    throw new TemplateError(`chat template failed to render ${messages.length} message(s): ${(cause as Error).message}. Check the message roles and the variables the template expects.`, { cause });
  }
}
