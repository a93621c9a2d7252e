// Evaluation rows: the CSV parser, the generic JSONL and CSV readers, and the two labeled data set
// readers on small inline files, plus the real data sets when the shared folder is present.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

import { parseCsv } from "../../src/data/csv.js";
import { readDavidsonRows, readHaluEvalRows } from "../../src/data/datasets.js";
import { formatFromExtension, readEvalRows } from "../../src/data/read.js";
import { readCsvRows, readJsonlRows } from "../../src/data/rows.js";
import { DataRowError, InvalidInputError, IOError } from "../../src/errors.js";

const SHARED_DATA = join(import.meta.dirname, "../../../shared/data");
const DAVIDSON = join(SHARED_DATA, "davidson/labeled_data.csv");
const HALUEVAL = join(SHARED_DATA, "halueval/general_data.json");

/** Runs `action` and returns the DataRowError it throws. */
function rowErrorOf(action: () => unknown): DataRowError {
  try {
    action();
  } catch (error) {
    if (error instanceof DataRowError) return error;
    throw error;
  }
  throw new Error("expected a DataRowError, but nothing was thrown");
}

describe("parseCsv", () => {
  it("splits plain records", () => {
    const records = parseCsv("a,b,c\n1,2,3\n", "t.csv");
    expect(records.map((record) => record.fields)).toEqual([
      ["a", "b", "c"],
      ["1", "2", "3"],
    ]);
  });

  it("reads quoted commas, quotes and line breaks", () => {
    const records = parseCsv('x,y\n"a,b","say ""hi"""\n"two\nlines",z\n', "t.csv");
    expect(records[1]!.fields).toEqual(["a,b", 'say "hi"']);
    expect(records[2]!.fields).toEqual(["two\nlines", "z"]);
  });

  it("reports the start line of each record", () => {
    const records = parseCsv('x,y\n"two\nlines",z\nlast,row', "t.csv");
    expect(records.map((record) => record.line)).toEqual([1, 2, 4]);
  });

  it("handles CRLF, a BOM and a missing final line break", () => {
    const records = parseCsv("\uFEFFa,b\r\n1,2\r\n3,4", "t.csv");
    expect(records.map((record) => record.fields)).toEqual([
      ["a", "b"],
      ["1", "2"],
      ["3", "4"],
    ]);
  });

  it("keeps empty and quoted empty fields", () => {
    const records = parseCsv('a,,""\n""\n', "t.csv");
    expect(records[0]!.fields).toEqual(["a", "", ""]);
    expect(records[1]!.fields).toEqual([""]);
  });

  it("keeps a quote inside an unquoted field", () => {
    expect(parseCsv('5 "inch",x\n', "t.csv")[0]!.fields).toEqual(['5 "inch"', "x"]);
  });

  it("rejects an unclosed quote", () => {
    const error = rowErrorOf(() => parseCsv('a,b\n1,"open\n2,3\n', "t.csv"));
    expect(error.row).toBe(1);
    expect(error.line).toBe(2);
    expect(error.message).toContain("never closed");
  });

  it("rejects text after a closing quote", () => {
    const error = rowErrorOf(() => parseCsv('a,b\n"x"y,2\n', "t.csv"));
    expect(error.field).toBe("column 1");
    expect(error.message).toContain('unexpected "y"');
  });
});

describe("readJsonlRows", () => {
  it("maps fields and numbers rows past blank lines", () => {
    const text = '{"id": 7, "input": "hi", "label": "ok"}\n\n{"output": "o", "context": "c", "tools": [{"name": "f"}], "toolCall": {"name": "f"}}\n';
    const { rows, skipped } = readJsonlRows(text, "t.jsonl");

    expect(skipped).toEqual([]);
    expect(rows[0]).toEqual({ row: 1, line: 1, id: "7", label: "ok", content: { input: "hi" } });
    expect(rows[1]!.row).toBe(2);
    expect(rows[1]!.line).toBe(3);
    expect(rows[1]!.content).toEqual({ output: "o", context: "c", tools: [{ name: "f" }], toolCall: { name: "f" } });
  });

  it.each([
    ['{"input": 3}', "input", "expected a string"],
    ['{"input": "x", "tool_call": 1}', "tool_call", "unknown field"],
    ['{"id": [1], "input": "x"}', "id", "string or number"],
    ['{"input": "   "}', "input", "no content"],
    ['{"input": "\\ud800"}', "input", "lone UTF-16 surrogate"],
    ["[1, 2]", "(line)", "expected a JSON object"],
    ["{not json", "(line)", "invalid JSON"],
  ])("rejects %s at field %s", (line, field, message) => {
    const error = rowErrorOf(() => readJsonlRows(`{"input": "fine"}\n${line}\n`, "t.jsonl"));
    expect(error.code).toBe("DATA_ROW_INVALID");
    expect(error.file).toBe("t.jsonl");
    expect(error.row).toBe(2);
    expect(error.line).toBe(2);
    expect(error.field).toBe(field);
    expect(error.message).toContain(message);
  });

  it("skips invalid rows when asked", () => {
    const { rows, skipped } = readJsonlRows('{"input": 1}\n{"input": "a"}\n{"nope": 1}\n{"input": "b"}\n', "t.jsonl", { skipInvalid: true });
    expect(rows.map((row) => row.content.input)).toEqual(["a", "b"]);
    expect(skipped.map((error) => error.row)).toEqual([1, 3]);
  });

  it("stops at the limit", () => {
    const { rows } = readJsonlRows('{"input": "a"}\n{"input": "b"}\n{"input": "c"}\n', "t.jsonl", { limit: 2 });
    expect(rows.map((row) => row.content.input)).toEqual(["a", "b"]);
  });
});

describe("readCsvRows", () => {
  it("maps columns and leaves empty cells out", () => {
    const { rows } = readCsvRows('id,input,output,label\nr1,"hello, you",,yes\nr2,,answer,no\n', "t.csv");
    expect(rows[0]).toEqual({ row: 1, line: 2, id: "r1", label: "yes", content: { input: "hello, you" } });
    expect(rows[1]!.content).toEqual({ output: "answer" });
  });

  it("rejects an unknown column", () => {
    const error = rowErrorOf(() => readCsvRows("input,text\na,b\n", "t.csv"));
    expect(error.row).toBe(0);
    expect(error.field).toBe("text");
    expect(error.message).toContain("--dataset");
  });

  it("rejects a row with the wrong cell count", () => {
    const error = rowErrorOf(() => readCsvRows("input,output\na,b\nc\n", "t.csv"));
    expect(error.row).toBe(2);
    expect(error.line).toBe(3);
    expect(error.message).toContain("1 cells but the header has 2 columns");
  });
});

describe("labeled data set readers", () => {
  const davidsonText = [
    ",count,hate_speech,offensive_language,neither,class,tweet",
    '0,3,0,0,3,2,"plain tweet, with a comma"',
    '1,3,0,3,0,1,"multi',
    'line ""quoted"" tweet"',
    "2,3,3,0,0,0,third",
    "",
  ].join("\n");

  it("maps Davidson rows to inputs and class names", () => {
    const { rows } = readDavidsonRows(davidsonText, "d.csv");
    expect(rows.map((row) => [row.id, row.label, row.line])).toEqual([
      ["0", "neither", 2],
      ["1", "offensive", 3],
      ["2", "hate", 5],
    ]);
    expect(rows[1]!.content).toEqual({ input: 'multi\nline "quoted" tweet' });
  });

  it("rejects an unknown Davidson class", () => {
    const error = rowErrorOf(() => readDavidsonRows(",class,tweet\n0,7,text\n", "d.csv"));
    expect(error.field).toBe("class");
    expect(error.message).toContain('"7" is not 0, 1 or 2');
  });

  it("rejects a file without the tweet column", () => {
    const error = rowErrorOf(() => readDavidsonRows("input,class\nx,1\n", "d.csv"));
    expect(error.field).toBe("tweet");
  });

  it("maps HaluEval rows to query, context and response", () => {
    const line = JSON.stringify({ ID: "4", user_query: "Q?", chatgpt_response: "R.", hallucination: "yes", hallucination_spans: ["R"] });
    const { rows } = readHaluEvalRows(`${line}\n`, "h.json");
    expect(rows).toEqual([{ row: 1, line: 1, id: "4", label: "yes", content: { input: "Q?", context: "Q?", output: "R." } }]);
  });

  it("rejects a HaluEval row without a response", () => {
    const error = rowErrorOf(() => readHaluEvalRows('{"user_query": "Q", "hallucination": "no"}\n', "h.json"));
    expect(error.field).toBe("chatgpt_response");
    expect(error.message).toContain("expected a string, got nothing");
  });

  it("rejects a HaluEval label other than yes or no", () => {
    const error = rowErrorOf(() => readHaluEvalRows('{"user_query": "Q", "chatgpt_response": "R", "hallucination": "maybe"}\n', "h.json"));
    expect(error.field).toBe("hallucination");
  });
});

describe("readEvalRows", () => {
  it("picks the format from the extension", () => {
    expect(formatFromExtension("a/rows.CSV")).toBe("csv");
    expect(formatFromExtension("rows.jsonl")).toBe("jsonl");
    expect(() => formatFromExtension("rows.txt")).toThrow(InvalidInputError);
  });

  it("reports a missing file as IOError", async () => {
    await expect(readEvalRows("/nonexistent/rows.jsonl")).rejects.toBeInstanceOf(IOError);
  });

  it("rejects a limit below 1", async () => {
    await expect(readEvalRows("rows.jsonl", { limit: 0 })).rejects.toBeInstanceOf(InvalidInputError);
  });
});

describe.skipIf(!existsSync(DAVIDSON) || !existsSync(HALUEVAL))("shared labeled data sets", () => {
  if (!existsSync(DAVIDSON) || !existsSync(HALUEVAL)) console.warn(`skipping the shared data set tests: ${SHARED_DATA} is missing`);

  it("reads every Davidson row with its class counts", async () => {
    const { rows, skipped } = await readEvalRows(DAVIDSON, { dataset: "davidson" });
    const counts: Record<string, number> = {};
    for (const row of rows) counts[row.label!] = (counts[row.label!] ?? 0) + 1;

    expect(skipped).toEqual([]);
    expect(rows.length).toBe(24_783);
    expect(counts).toEqual({ hate: 1430, offensive: 19_190, neither: 4163 });
  });

  it("reads every HaluEval row with its labels", async () => {
    const { rows } = await readEvalRows(HALUEVAL, { dataset: "halueval" });
    expect(rows.length).toBe(4507);
    expect(rows.filter((row) => row.label === "yes").length).toBe(815);
    expect(rows.every((row) => row.content.output !== undefined && row.content.input !== undefined)).toBe(true);
  });

  it("stops the Davidson reader at the limit", async () => {
    const { rows } = await readEvalRows(DAVIDSON, { dataset: "davidson", limit: 200 });
    expect(rows.length).toBe(200);
    expect(rows[199]!.row).toBe(200);
  });
});
