// Batch files of the demo, read from bytes with the library's row readers. Invalid rows are kept as
// failed entries, bad headers and unknown file types are rejected, and results are written as JSONL.

import { describe, expect, it } from "vitest";
import { detectFormat, FAILED_FIELD_CHARACTERS, invalidOutcome, outcomesToJsonl, readBatchFile, rowOutcome, type BatchEntry } from "../../src/app/batch.js";
import { DataRowError, InvalidInputError, TemplateSlotError } from "../../src/errors.js";

const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

/** Joins byte chunks, for files with invalid UTF-8 in them. */
function bytesOf(...parts: (string | number[])[]): Uint8Array {
  const chunks = parts.map((part) => (typeof part === "string" ? encode(part) : new Uint8Array(part)));
  const bytes = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

function describeEntries(entries: BatchEntry[]): unknown[] {
  return entries.map((entry) => ("row" in entry ? { row: entry.row.row, content: entry.row.content } : { row: entry.invalid.row, field: entry.invalid.field }));
}

describe("readBatchFile", () => {
  it("reads CSV rows by header name", () => {
    const file = readBatchFile("rows.CSV", encode('id,input,context,toolCall\n7,hello,,"{""name"":""f""}"\n\n8,bye,ctx,\n'));
    expect(file.format).toBe("rows");
    expect(file.entries).toEqual([
      { row: { row: 1, line: 2, id: "7", content: { input: "hello", toolCall: '{"name":"f"}' } } },
      { row: { row: 2, line: 4, id: "8", content: { input: "bye", context: "ctx" } } },
    ]);
  });

  it("strips a UTF-8 byte order mark", () => {
    const csv = readBatchFile("rows.csv", bytesOf([0xef, 0xbb, 0xbf], "input\nhello\n"));
    expect(csv.entries).toEqual([{ row: { row: 1, line: 2, content: { input: "hello" } } }]);
    const jsonl = readBatchFile("rows.jsonl", bytesOf([0xef, 0xbb, 0xbf], '{"input":"hello"}\n'));
    expect(jsonl.entries).toEqual([{ row: { row: 1, line: 1, content: { input: "hello" } } }]);
  });

  it("flags rows with invalid UTF-8", () => {
    const file = readBatchFile("rows.jsonl", bytesOf('{"input":"fine"}\n{"input":"bad ', [0xff], '"}\n{"input":"also fine"}\n'));
    expect(file.validRows).toBe(2);
    expect(file.invalidRows).toBe(1);
    const entry = file.entries[1]!;
    if (!("invalid" in entry)) throw new Error(`row 2 was read as valid: ${JSON.stringify(entry)}`);
    expect(entry.invalid).toBeInstanceOf(DataRowError);
    expect(entry.invalid.message).toMatch(/row 2 \(line 2\): \(encoding\): invalid UTF-8 at byte offset 31/);
  });

  it("rejects duplicate column names", () => {
    const read = (): unknown => readBatchFile("rows.csv", encode("input,context,input\na,b,c\n"));
    expect(read).toThrow(DataRowError);
    expect(read).toThrow(/the column "input" appears twice in the header; rename or remove one/);
  });

  it("keeps invalid rows as failed entries in file order", () => {
    const file = readBatchFile("rows.jsonl", encode('{"input":"a"}\n{oops}\n{"input": 5}\n{"other":"x"}\n{"input":"b"}\n'));
    expect(describeEntries(file.entries)).toEqual([
      { row: 1, content: { input: "a" } },
      { row: 2, field: "(line)" },
      { row: 3, field: "input" },
      { row: 4, field: "other" },
      { row: 5, content: { input: "b" } },
    ]);
    expect([file.validRows, file.invalidRows]).toEqual([2, 3]);
  });

  it("rejects other file types and files without rows", () => {
    expect(() => readBatchFile("rows.txt", encode("x"))).toThrow(InvalidInputError);
    expect(() => readBatchFile("rows.jsonl", encode("\n\n"))).toThrow(/no data rows found/);
    expect(() => readBatchFile("rows.csv", encode("input\n"))).toThrow(/no data rows found/);
    expect(() => readBatchFile("rows.csv", encode('input\n"never closed'))).toThrow(/never closed/);
  });

  it("reads the two data sets when detected", () => {
    const davidson = readBatchFile("labeled_data.csv", encode(",count,hate_speech,offensive_language,neither,class,tweet\n0,3,0,0,3,2,hello there\n1,3,0,3,0,1,you idiot\n"));
    expect(davidson.format).toBe("davidson");
    expect(davidson.entries.map((entry) => "row" in entry && [entry.row.id, entry.row.label, entry.row.content.input])).toEqual([
      ["0", "neither", "hello there"],
      ["1", "offensive", "you idiot"],
    ]);

    const halueval = readBatchFile("general_data.json", encode('{"ID":"1","user_query":"q","chatgpt_response":"r","hallucination":"no","hallucination_spans":[]}\n'));
    expect(halueval.format).toBe("halueval");
    expect(halueval.entries).toEqual([{ row: { row: 1, line: 1, id: "1", label: "no", content: { input: "q", output: "r", context: "q" } } }]);
  });

  it("uses the format that the caller chooses", () => {
    const text = encode(",class,tweet\n0,2,hello\n");
    expect(() => readBatchFile("rows.csv", text, "rows")).toThrow(/unknown column/);
    expect(readBatchFile("rows.csv", text, "davidson").validRows).toBe(1);
  });
});

describe("detectFormat", () => {
  it("tells data sets from generic rows", () => {
    expect(detectFormat("\n,count,class,tweet\n", true)).toBe("davidson");
    expect(detectFormat("input,output\n", true)).toBe("rows");
    expect(detectFormat('{"user_query":"q"}\n', false)).toBe("halueval");
    expect(detectFormat('{"input":"q"}\n', false)).toBe("rows");
    expect(detectFormat("{oops}\n", false)).toBe("rows");
  });
});

describe("batch outcomes", () => {
  it("describe evaluated, failed and invalid rows", () => {
    const row = { row: 2, line: 3, id: "a", label: "yes", content: { input: "x" } };
    expect(rowOutcome(row, { results: [] })).toEqual({ row: 2, line: 3, id: "a", label: "yes", content: { input: "x" }, results: [] });

    const failed = rowOutcome(row, { error: new TemplateSlotError("hallucination", "context") });
    expect(failed.error).toMatchObject({ name: "TemplateSlotError", code: "TEMPLATE_SLOT_MISSING" });

    const invalid = invalidOutcome(new DataRowError("rows.csv", 4, 5, "input", "bad"));
    expect(invalid).toEqual({ row: 4, line: 5, error: { name: "DataRowError", code: "DATA_ROW_INVALID", message: "rows.csv: row 4 (line 5): input: bad" } });
  });

  it("keep an excerpt of failed rows", () => {
    const huge = "x".repeat(FAILED_FIELD_CHARACTERS - 1) + "\u{1F600}" + "y".repeat(30_000_000);
    const tools = Array.from({ length: 200 }, (_, i) => ({ name: `tool_${i}` }));
    const row = { row: 1, line: 2, content: { input: huge, context: "short", tools } };
    const failed = rowOutcome(row, { error: new Error("too long") });

    expect(failed.content!.input).toBe(`${"x".repeat(FAILED_FIELD_CHARACTERS - 1)}…`);
    expect(failed.content!.context).toBe("short");
    expect(typeof failed.content!.tools).toBe("string");
    expect((failed.content!.tools as string).length).toBe(FAILED_FIELD_CHARACTERS + 1);
    expect(failed.cutFields).toEqual({ input: huge.length, tools: JSON.stringify(tools).length });
    expect(outcomesToJsonl([failed]).length).toBeLessThan(4 * FAILED_FIELD_CHARACTERS);
  });

  it("keep the full content of evaluated rows", () => {
    const long = "z".repeat(FAILED_FIELD_CHARACTERS * 3);
    const evaluated = rowOutcome({ row: 1, line: 1, content: { input: long } }, { results: [] });
    expect(evaluated.content).toEqual({ input: long });
    expect(evaluated.cutFields).toBeUndefined();
  });

  it("write one object per line", () => {
    const text = outcomesToJsonl([
      { row: 1, line: 1, content: { input: "a" }, error: { name: "TemplateSlotError", message: "missing" } },
      { row: 2, line: 2, content: { input: "b" }, results: [] },
    ]);
    const lines = text.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0]!)).toEqual({ row: 1, line: 1, content: { input: "a" }, error: { name: "TemplateSlotError", message: "missing" } });
    expect(outcomesToJsonl([])).toBe("");
  });
});
