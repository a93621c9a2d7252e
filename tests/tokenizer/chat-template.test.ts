import { describe, expect, it } from "vitest";

import { TemplateError } from "../../src/errors.js";
import { GGUFValueType } from "../../src/gguf/types.js";
import { renderChatTemplate } from "../../src/tokenizer/index.js";
import { packageMetadata, packageTokenizer } from "./fixtures.js";

async function packageTemplate(name: "llama3" | "qwen3"): Promise<string> {
  const entry = (await packageMetadata(name)).get("tokenizer.chat_template");
  if (entry === undefined || entry.type !== GGUFValueType.STRING) throw new Error(`${name}: tokenizer.chat_template missing from the converted metadata`);
  return entry.value as string;
}

const messages = [
  { role: "system", content: "You are a strict grader." },
  { role: "user", content: "Is 2 + 2 = 4? Answer Yes or No." },
];

describe("renderChatTemplate", () => {
  it("renders the Llama 3 template", async () => {
    const text = renderChatTemplate(await packageTemplate("llama3"), messages, { addGenerationPrompt: true, bosToken: "<|begin_of_text|>" });
    expect(text).toBe(
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nYou are a strict grader.<|eot_id|>" +
        "<|start_header_id|>user<|end_header_id|>\n\nIs 2 + 2 = 4? Answer Yes or No.<|eot_id|>" +
        "<|start_header_id|>assistant<|end_header_id|>\n\n",
    );
  });

  it("renders the Qwen3 template", async () => {
    const text = renderChatTemplate(await packageTemplate("qwen3"), messages, { addGenerationPrompt: true });
    expect(text).toBe(
      "<|im_start|>system\nYou are a strict grader.<|im_end|>\n" +
        "<|im_start|>user\nIs 2 + 2 = 4? Answer Yes or No.<|im_end|>\n" +
        "<|im_start|>assistant\n",
    );
  });

  it("passes extra variables to Qwen3", async () => {
    const text = renderChatTemplate(await packageTemplate("qwen3"), messages, { addGenerationPrompt: true, enable_thinking: false });
    expect(text.endsWith("<|im_start|>assistant\n<think>\n\n</think>\n\n")).toBe(true);
  });

  it("rendered Qwen3 prompt encodes to its markers", async () => {
    const tokenizer = await packageTokenizer("qwen3");
    const text = renderChatTemplate(await packageTemplate("qwen3"), [{ role: "user", content: "Hi" }], { addGenerationPrompt: true });
    const ids = tokenizer.encodeTemplate(text);
    const imStart = tokenizer.tokenId("<|im_start|>")!;
    const imEnd = tokenizer.tokenId("<|im_end|>")!;
    expect(ids.filter((id) => id === imStart)).toHaveLength(2);
    expect(ids.filter((id) => id === imEnd)).toHaveLength(1);
    expect(tokenizer.decode(ids)).toBe(text);
  });

  it("rejects a template that fails to parse", () => {
    expect(() => renderChatTemplate("{% if %}", messages)).toThrow(TemplateError);
    expect(() => renderChatTemplate("{% for m in messages %}", messages)).toThrow(/failed to parse/);
  });

  it("rejects a template that fails to render", () => {
    const template = "{{ raise_exception('roles must alternate') }}";
    expect(() => renderChatTemplate(template, messages)).toThrow(TemplateError);
    expect(() => renderChatTemplate("{{ messages[0].content.no_such_method() }}", messages)).toThrow(/failed to render 2 message/);
  });
});
