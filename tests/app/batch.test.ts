import { describe, expect, it } from "vitest";
import { outcomesToJsonl, parseBatchFile, parseCsv } from "../../src/app/batch.js";
import { InvalidInputError } from "../../src/errors.js";

describe("parseCsv", () => {
  it("handles quotes, escaped quotes, commas and newlines in fields", () => {
    const text = 'input,output\r\n"He said ""hi"", then left",plain\n"two\nlines",\n';
    expect(parseCsv("rows.csv", text)).toEqual([
      ["input", "output"],
      ['He said "hi", then left', "plain"],
      ["two\nlines", ""],
    ]);
  });

  it("rejects an unclosed quote", () => {
    expect(() => parseCsv("rows.csv", 'input\n"never closed')).toThrow(/never closed/);
  });

  it("keeps a last record without a newline", () => {
    expect(parseCsv("rows.csv", "a,b\n1,2")).toEqual([
      ["a", "b"],
      ["1", "2"],
    ]);
  });
});

describe("parseBatchFile", () => {
  it("reads CSV rows by header name", () => {
    const rows = parseBatchFile("rows.CSV", 'Input,context,tool_call\nhello,,"{""name"":""f""}"\n\nbye,ctx,\n');
    expect(rows).toEqual([
      { row: 1, content: { input: "hello", toolCall: { name: "f" } } },
      { row: 3, content: { input: "bye", context: "ctx" } },
    ]);
  });

  it("rejects a CSV header without content columns", () => {
    expect(() => parseBatchFile("rows.csv", "name,age\nx,1\n")).toThrow(/names no content column/);
  });

  it("reads JSONL rows with line numbers", () => {
    const rows = parseBatchFile("rows.jsonl", '{"input":"a"}\n\n{"text":"b","tools":[{"name":"t"}],"toolCall":{"name":"t"}}\n');
    expect(rows).toEqual([
      { row: 1, content: { input: "a" } },
      { row: 3, content: { input: "b", tools: [{ name: "t" }], toolCall: { name: "t" } } },
    ]);
  });

  it("names the JSONL line that is invalid", () => {
    expect(() => parseBatchFile("rows.jsonl", '{"input":"a"}\n{oops}\n')).toThrow(/line 2 is not valid JSON/);
    expect(() => parseBatchFile("rows.jsonl", '["a"]\n')).toThrow(/line 1 is not a JSON object/);
    expect(() => parseBatchFile("rows.jsonl", '{"input": 5}\n')).toThrow(/field "input" must be a string/);
    expect(() => parseBatchFile("rows.jsonl", '{"other": "x"}\n')).toThrow(/line 1 has no content/);
  });

  it("rejects other file types and empty files", () => {
    expect(() => parseBatchFile("rows.txt", "x")).toThrow(InvalidInputError);
    expect(() => parseBatchFile("rows.jsonl", "\n\n")).toThrow(/no rows found/);
    expect(() => parseBatchFile("rows.csv", "input\n")).toThrow(/no data rows/);
  });
});

describe("outcomesToJsonl", () => {
  it("writes one object per line", () => {
    const text = outcomesToJsonl([
      { row: 1, content: { input: "a" }, error: { name: "TemplateSlotError", message: "missing" } },
      { row: 2, content: { input: "b" }, results: [] },
    ]);
    const lines = text.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0]!)).toEqual({ row: 1, content: { input: "a" }, error: { name: "TemplateSlotError", message: "missing" } });
    expect(outcomesToJsonl([])).toBe("");
  });
});
