import { describe, expect, it } from "vitest";
import { contentFromText, parseJsonField, parseTranscript } from "../../src/app/content.js";
import { InvalidInputError } from "../../src/errors.js";

describe("parseTranscript", () => {
  it("splits role-prefixed turns", () => {
    const turns = parseTranscript("System: be brief\nUser: hi there\nAssistant: hello\nsecond line\nuser: bye");
    expect(turns).toEqual([
      { role: "system", text: "be brief" },
      { role: "user", text: "hi there" },
      { role: "assistant", text: "hello\nsecond line" },
      { role: "user", text: "bye" },
    ]);
  });

  it("treats text before any marker as plain", () => {
    expect(parseTranscript("Dear team,\nUser: this is quoted")).toEqual([]);
  });

  it("ignores blank lines before the first turn", () => {
    expect(parseTranscript("\n\nUser: hi")).toEqual([{ role: "user", text: "hi" }]);
  });
});

describe("contentFromText", () => {
  it("maps plain text to input", () => {
    expect(contentFromText("  some text  ")).toEqual({ input: "some text" });
  });

  it("maps a transcript to input, output and context", () => {
    const content = contentFromText("System: rules\nUser: first\nAssistant: reply one\nUser: second\nAssistant: reply two");
    expect(content.input).toBe("second");
    expect(content.output).toBe("reply two");
    expect(content.context).toBe("system: rules\nuser: first\nassistant: reply one");
  });

  it("lets typed fields override the transcript", () => {
    const content = contentFromText("User: q\nAssistant: a", { output: "typed answer", context: "  ", tools: [{ name: "x" }] });
    expect(content.output).toBe("typed answer");
    expect(content.context).toBeUndefined();
    expect(content.tools).toEqual([{ name: "x" }]);
  });

  it("rejects empty text", () => {
    expect(() => contentFromText("   ")).toThrow(InvalidInputError);
  });

  it("rejects a transcript without a user turn", () => {
    expect(() => contentFromText("Assistant: hello")).toThrow(/no "User:" turn/);
  });
});

describe("parseJsonField", () => {
  it("parses JSON, keeps other text and maps empty to undefined", () => {
    expect(parseJsonField('{"name":"get_weather"}')).toEqual({ name: "get_weather" });
    expect(parseJsonField("get_weather(city=Paris)")).toBe("get_weather(city=Paris)");
    expect(parseJsonField("  ")).toBeUndefined();
  });
});
