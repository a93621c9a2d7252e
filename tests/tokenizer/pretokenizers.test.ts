import { describe, expect, it } from "vitest";

import { preTokenize } from "../../src/tokenizer/index.js";

describe("preTokenize", () => {
  const cases: Array<[Parameters<typeof preTokenize>[1], string, string[]]> = [
    ["llama3", "12345", ["123", "45"]],
    ["qwen2", "12345", ["1", "2", "3", "4", "5"]],
    ["smollm", "a 12", ["a", " ", "1", "2"]],
    ["gpt2", "a 12", ["a", " 12"]],
    ["default", "1234567", ["123", "456", "7"]],
    ["llama3", "a   b", ["a", "  ", " b"]],
    ["llama3", "a  \n\n b", ["a", "  \n\n", " b"]],
    ["llama3", "end   ", ["end", "   "]],
    ["llama3", "I'M here", ["I", "'M", " here"]],
    ["gpt2", "I'M here", ["I", "'", "M", " here"]],
    ["llama3", "x'\u017f", ["x", "'\u017f"]],
    ["llama3", "hi!!\n\nyo", ["hi", "!!\n\n", "yo"]],
    ["llama3", "a\u00a0\u00a0b", ["a", "\u00a0", "\u00a0b"]],
    ["llama3", "a\u0085b", ["a", "\u0085b"]],
    ["llama3", "a\ufeffb", ["a", "\ufeffb"]],
    ["qwen2", "안녕 👍🏽", ["안녕", " 👍🏽"]],
  ];
  for (const [kind, text, expected] of cases) {
    it(`${kind} splits ${JSON.stringify(text)}`, () => {
      expect(preTokenize(text, kind)).toEqual(expected);
    });
  }

  it("pieces concatenate to the input", () => {
    const text = "Hello,  world!\n\n\tcode(x) => 12345 안녕 'll 👨‍👩‍👧";
    for (const kind of ["llama3", "qwen2", "smollm", "gpt2", "default"] as const) {
      expect(preTokenize(text, kind).join("")).toBe(text);
    }
  });
});
