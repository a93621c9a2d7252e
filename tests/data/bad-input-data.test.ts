// Hostile data files: invalid UTF-8, duplicate CSV columns and a leading byte order mark, read
// through the same path as `tokenjudge eval --input`.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";

import { readDavidsonRows, readHaluEvalRows } from "../../src/data/datasets.js";
import { readEvalRows } from "../../src/data/read.js";
import { readCsvRows, readJsonlRows } from "../../src/data/rows.js";
import { decodeDataFile, findInvalidUtf8 } from "../../src/data/utf8.js";
import { DataRowError } from "../../src/errors.js";

const folder = mkdtempSync(join(tmpdir(), "tokenjudge-bad-data-"));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

const encoder = new TextEncoder();

/** Writes the concatenation of text and raw byte parts to a new file and returns its path. */
function writeParts(name: string, parts: Array<string | number[]>): string {
  const chunks = parts.map((part) => (typeof part === "string" ? encoder.encode(part) : Uint8Array.from(part)));
  const bytes = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  const path = join(folder, name);
  writeFileSync(path, bytes);
  return path;
}

async function rowErrorOf(action: () => Promise<unknown>): Promise<DataRowError> {
  try {
    await action();
  } catch (error) {
    if (error instanceof DataRowError) return error;
    throw error;
  }
  throw new Error("expected a DataRowError, but nothing was thrown");
}

function syncRowErrorOf(action: () => unknown): DataRowError {
  try {
    action();
  } catch (error) {
    if (error instanceof DataRowError) return error;
    throw error;
  }
  throw new Error("expected a DataRowError, but nothing was thrown");
}

describe("findInvalidUtf8", () => {
  it.each([
    ["a stray continuation byte", [0x61, 0x80], 1],
    ["an overlong NUL", [0xc0, 0x80], 0],
    ["an overlong three-byte form", [0xe0, 0x80, 0x80], 0],
    ["a UTF-16 surrogate", [0xed, 0xa0, 0x80], 0],
    ["a code point above U+10FFFF", [0xf4, 0x90, 0x80, 0x80], 0],
    ["the byte F5", [0xf5, 0x80, 0x80, 0x80], 0],
    ["a sequence cut at the end", [0x61, 0x62, 0xe2, 0x82], 2],
    ["a sequence cut by a newline", [0xe2, 0x0a, 0x61], 0],
  ])("finds %s", (_name, bytes, offset) => {
    expect(findInvalidUtf8(Uint8Array.from(bytes))).toEqual([{ line: 1, offset }]);
  });

  it("accepts valid text, U+FFFD included", () => {
    expect(findInvalidUtf8(encoder.encode("a\u00e9\u20ac\u{1F600}\uFFFD\nb"))).toEqual([]);
  });

  it("reports one entry per line", () => {
    expect(findInvalidUtf8(Uint8Array.from([0x80, 0x80, 0x0a, 0x61, 0x0a, 0x62, 0xff]))).toEqual([
      { line: 1, offset: 0 },
      { line: 3, offset: 6 },
    ]);
  });

  it("agrees with a fatal TextDecoder", () => {
    const fatal = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 24 }), (bytes) => {
        let valid = true;
        try {
          fatal.decode(bytes);
        } catch {
          valid = false;
        }
        expect(findInvalidUtf8(bytes).length === 0).toBe(valid);
      }),
      { numRuns: 2000, seed: 20261204 },
    );
  });

  it("decodes without a byte order mark", () => {
    const decoded = decodeDataFile(Uint8Array.from([0xef, 0xbb, 0xbf, 0x61]));
    expect(decoded).toEqual({ text: "a", invalid: [] });
  });
});

describe("invalid UTF-8 rows", () => {
  it("names file, row, line and byte offset in JSONL", async () => {
    const path = writeParts("bad.jsonl", ['{"input":"ok"}\n{"input":"caf', [0xe9], '"}\n{"input":"fine"}\n']);
    const error = await rowErrorOf(() => readEvalRows(path));
    expect(error.file).toBe(path);
    expect(error.row).toBe(2);
    expect(error.line).toBe(2);
    expect(error.field).toBe("(encoding)");
    expect(error.message).toContain("byte offset 28");
  });

  it("skips only the bad JSONL row", async () => {
    const path = writeParts("skip.jsonl", ['{"input":"ok"}\n{"input":"caf', [0xe9], '"}\n{"input":"fine"}\n']);
    const { rows, skipped } = await readEvalRows(path, { skipInvalid: true });
    expect(rows.map((row) => row.content.input)).toEqual(["ok", "fine"]);
    expect(skipped).toHaveLength(1);
    expect(skipped[0]!.row).toBe(2);
  });

  it("flags a CSV record whose second line is bad", async () => {
    const path = writeParts("multi.csv", ['input,label\n"first\nline",a\n"two\nbad ', [0xff], '",b\nlast,c\n']);
    const { rows, skipped } = await readEvalRows(path, { skipInvalid: true });
    expect(rows.map((row) => row.content.input)).toEqual(["first\nline", "last"]);
    expect(skipped.map((error) => [error.row, error.line])).toEqual([[2, 4]]);
    expect(skipped[0]!.message).toContain("line 5");
  });

  it("fails the file when the header is bad", async () => {
    const path = writeParts("header.csv", ["input,lab", [0xc3], "\nx,y\n"]);
    const error = await rowErrorOf(() => readEvalRows(path, { skipInvalid: true }));
    expect(error.row).toBe(0);
    expect(error.field).toBe("(encoding)");
  });

  it("flags bad Davidson and HaluEval rows", async () => {
    const davidson = writeParts("davidson.csv", [",count,hate_speech,offensive_language,neither,class,tweet\n0,3,0,0,3,2,ok\n1,3,0,0,3,2,b", [0x80], "d\n"]);
    const davidsonRows = await readEvalRows(davidson, { dataset: "davidson", skipInvalid: true });
    expect(davidsonRows.rows).toHaveLength(1);
    expect(davidsonRows.skipped[0]!.row).toBe(2);

    const halueval = writeParts("halueval.json", ['{"ID":1,"user_query":"q', [0xfe], '","chatgpt_response":"r","hallucination":"no"}\n']);
    const error = await rowErrorOf(() => readEvalRows(halueval, { dataset: "halueval" }));
    expect(error.field).toBe("(encoding)");
  });

  it("keeps a real U+FFFD character", async () => {
    const path = writeParts("replacement.jsonl", ['{"input":"a\uFFFDb"}\n']);
    const { rows } = await readEvalRows(path);
    expect(rows[0]!.content.input).toBe("a\uFFFDb");
  });
});

describe("duplicate CSV columns", () => {
  it("rejects a repeated generic column", () => {
    const error = syncRowErrorOf(() => readCsvRows("input,label,input\na,b,c\n", "dup.csv"));
    expect(error.row).toBe(0);
    expect(error.field).toBe("input");
    expect(error.message).toContain("appears twice");
  });

  it("rejects a repeated column after trimming", () => {
    expect(() => readCsvRows("input, input\na,b\n", "dup.csv")).toThrow(DataRowError);
  });

  it("rejects a repeated Davidson column", () => {
    const error = syncRowErrorOf(() => readDavidsonRows(",class,tweet,class\n0,1,hi,2\n", "davidson.csv"));
    expect(error.field).toBe("class");
  });
});

describe("byte order mark", () => {
  it("is dropped from JSONL text", () => {
    const { rows } = readJsonlRows('\uFEFF{"input":"a"}\n', "bom.jsonl");
    expect(rows[0]!.content.input).toBe("a");
  });

  it("is dropped from HaluEval text", () => {
    const { rows } = readHaluEvalRows('\uFEFF{"ID":7,"user_query":"q","chatgpt_response":"r","hallucination":"yes"}\n', "bom.json");
    expect(rows[0]!.id).toBe("7");
  });

  it.each([
    ["bom.jsonl", '{"input":"a"}\n'],
    ["bom.csv", "input\na\n"],
  ])("is dropped from the file %s", async (name, text) => {
    const path = writeParts(name, [[0xef, 0xbb, 0xbf], text]);
    const { rows } = await readEvalRows(path);
    expect(rows.map((row) => row.content.input)).toEqual(["a"]);
  });

  it("counts the mark in byte offsets", async () => {
    const path = writeParts("bom-bad.jsonl", [[0xef, 0xbb, 0xbf], '{"input":"', [0xff], '"}\n']);
    const error = await rowErrorOf(() => readEvalRows(path));
    expect(error.message).toContain("byte offset 13");
  });
});
