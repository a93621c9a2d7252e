// Evaluation rows: one request for `Judge.evaluate` per row of a data file, with the row's position
// in the file for error messages. This file checks single rows and reads the two generic formats,
// JSONL (one JSON object per line) and CSV with a header that names the content fields.

import { DataRowError } from "../errors.js";
import type { EvaluationContent } from "../metrics/prompt.js";
import { parseCsv, type CsvRecord } from "./csv.js";
import type { InvalidUtf8 } from "./utf8.js";

export interface EvalRow {
  /** 1-based data row of the source file; a CSV header and blank lines are not counted. */
  row: number;
  /** 1-based line of the source file where the row starts. */
  line: number;
  /** The row's identifier when the file has one. */
  id?: string;
  content: EvaluationContent;
  /** The label the data set assigns to the row (such as "offensive" or "yes"), for scoring verdicts. */
  label?: string;
}

/** Rows read from one file, and the invalid rows left out when skipping was requested. */
export interface RowReadResult {
  rows: EvalRow[];
  skipped: DataRowError[];
}

export interface RowReadOptions {
  /** Stop after this many valid rows; all rows when omitted. */
  limit?: number;
  /** Collect invalid rows in `skipped` instead of throwing the first `DataRowError`. */
  skipInvalid?: boolean;
  /**
   * Lines of the source file that contained invalid UTF-8 (from `decodeDataFile`). A row that spans
   * one is invalid and names the byte offset, and a header that spans one fails the whole file.
   */
  invalidUtf8?: readonly InvalidUtf8[];
}

/** Keys of a generic JSONL row and the columns of a generic CSV file. */
export const ROW_FIELDS = ["id", "input", "output", "context", "tools", "toolCall", "label"] as const;
const TEXT_FIELDS = ["input", "output", "context"] as const;

/**
 * Collects rows from a reader: applies the limit, and either throws each `DataRowError` or keeps
 * it in `skipped`. `add` returns false once the limit is reached, so the reader can stop.
 */
export class RowCollector {
  readonly result: RowReadResult = { rows: [], skipped: [] };

  constructor(private readonly options: RowReadOptions) {}

  /** True once `limit` rows are collected. */
  get full(): boolean {
    return this.options.limit !== undefined && this.result.rows.length >= this.options.limit;
  }

  /** Runs `build` and keeps its row, or handles the `DataRowError` it throws. Returns false when full. */
  add(build: () => EvalRow): boolean {
    if (this.full) return false;
    try {
      this.result.rows.push(build());
    } catch (error) {
      if (!(error instanceof DataRowError) || !this.options.skipInvalid) throw error;
      this.result.skipped.push(error);
    }
    return !this.full;
  }
}

/** A row's position in its file, for `DataRowError`. */
export interface RowPosition {
  file: string;
  row: number;
  line: number;
}

/** Throws `DataRowError` for `field` of the row at `position`. */
export function rowError(position: RowPosition, field: string, message: string, cause?: unknown): never {
  throw new DataRowError(position.file, position.row, position.line, field, message, cause === undefined ? undefined : { cause });
}

/** Byte offsets of invalid UTF-8 keyed by 1-based line, from `RowReadOptions.invalidUtf8`. */
export type InvalidLines = ReadonlyMap<number, number>;

export function invalidLines(options: RowReadOptions): InvalidLines {
  return new Map((options.invalidUtf8 ?? []).map((entry) => [entry.line, entry.offset]));
}

/** Throws `DataRowError` when a line from `position.line` to `lastLine` contained invalid UTF-8. */
export function checkEncoding(position: RowPosition, lastLine: number, invalid: InvalidLines): void {
  if (invalid.size === 0) return;
  for (let line = position.line; line <= lastLine; line++) {
    const offset = invalid.get(line);
    if (offset !== undefined) {
      rowError(position, "(encoding)", `invalid UTF-8 at byte offset ${offset} (line ${line}); re-save the file as UTF-8, or pass --skip-invalid to leave the row out`);
    }
  }
}

/** Returns the last line of each record: the line before the next record starts, or the file's last line. */
export function recordLastLines(records: CsvRecord[], text: string): number[] {
  let lineCount = 1;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) lineCount++;
  return records.map((record, i) => Math.max(record.line, (records[i + 1]?.line ?? lineCount + 1) - 1));
}

/**
 * Returns the trimmed column names of a CSV header. Throws `DataRowError` for a header line with
 * invalid UTF-8, or for a column name that appears twice, because its cells would be ambiguous.
 */
export function readHeader(header: CsvRecord, lastLine: number, file: string, invalid: InvalidLines): string[] {
  const position = { file, row: 0, line: header.line };
  checkEncoding(position, lastLine, invalid);

  const columns = header.fields.map((name) => name.trim());
  const seen = new Set<string>();
  for (const name of columns) {
    if (seen.has(name)) rowError(position, name === "" ? "(header)" : name, `the column ${name === "" ? "with no name" : `"${name}"`} appears twice in the header; rename or remove one`);
    seen.add(name);
  }
  return columns;
}

/** Returns `text` without a leading byte order mark. */
export function stripByteOrderMark(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * Checks a row's content the way `Judge.evaluate` would: text fields must be well-formed UTF-16
 * strings, and at least one field must be non-empty. Throws `DataRowError` naming the field.
 */
export function checkContent(position: RowPosition, content: EvaluationContent): EvaluationContent {
  for (const field of TEXT_FIELDS) {
    const value = content[field];
    if (value === undefined) continue;
    if (typeof value !== "string") rowError(position, field, `expected a string, got ${describeValue(value)}`);
    if (LONE_SURROGATE.test(value)) rowError(position, field, "contains a lone UTF-16 surrogate, which is not valid text; fix the encoding of this row");
  }

  const filled = Object.values(content).some((value) => (typeof value === "string" ? value.trim() !== "" : value !== undefined && value !== null));
  if (!filled) rowError(position, "input", "the row has no content; set a non-empty input, output, context, tools or toolCall");
  return content;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Reads JSONL: one object per non-blank line with the keys in `ROW_FIELDS`. */
export function readJsonlRows(text: string, file: string, options: RowReadOptions = {}): RowReadResult {
  const collector = new RowCollector(options);
  const invalid = invalidLines(options);
  let row = 0;

  for (const [index, lineText] of stripByteOrderMark(text).split("\n").entries()) {
    if (lineText.trim() === "") continue;
    row++;
    const position = { file, row, line: index + 1 };
    const build = (): EvalRow => {
      checkEncoding(position, position.line, invalid);
      return jsonRow(position, parseJsonLine(position, lineText));
    };
    if (!collector.add(build)) break;
  }
  return collector.result;
}

/** Parses one JSONL line into an object, or throws `DataRowError`. */
export function parseJsonLine(position: RowPosition, lineText: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(lineText);
  } catch (cause) {
    rowError(position, "(line)", `invalid JSON: ${(cause as Error).message}; write one JSON object per line`, cause);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    rowError(position, "(line)", `expected a JSON object, got ${describeValue(value)}`);
  }
  return value as Record<string, unknown>;
}

function jsonRow(position: RowPosition, object: Record<string, unknown>): EvalRow {
  for (const key of Object.keys(object)) {
    if (!(ROW_FIELDS as readonly string[]).includes(key)) {
      rowError(position, key, `unknown field; a row may contain ${ROW_FIELDS.join(", ")}`);
    }
  }

  const id = object.id;
  if (id !== undefined && id !== null && typeof id !== "string" && typeof id !== "number") {
    rowError(position, "id", `expected a string or number, got ${describeValue(id)}`);
  }
  const label = object.label;
  if (label !== undefined && label !== null && typeof label !== "string") rowError(position, "label", `expected a string, got ${describeValue(label)}`);

  const content: EvaluationContent = {};
  for (const field of TEXT_FIELDS) {
    const value = object[field];
    if (value === undefined || value === null) continue;
    if (typeof value !== "string") rowError(position, field, `expected a string, got ${describeValue(value)}`);
    content[field] = value;
  }
  if (object.tools !== undefined && object.tools !== null) content.tools = object.tools;
  if (object.toolCall !== undefined && object.toolCall !== null) content.toolCall = object.toolCall;

  return withOptional({ row: position.row, line: position.line, content: checkContent(position, content) }, id, label);
}

/**
 * Reads CSV whose header names columns from `ROW_FIELDS`. Empty cells count as absent. Cells of
 * `tools` and `toolCall` are used as text, as they are written.
 */
export function readCsvRows(text: string, file: string, options: RowReadOptions = {}): RowReadResult {
  const records = parseCsv(text, file);
  const header = records[0];
  if (header === undefined) return { rows: [], skipped: [] };

  const invalid = invalidLines(options);
  const lastLines = recordLastLines(records, text);
  const columns = readHeader(header, lastLines[0]!, file, invalid);
  for (const name of columns) {
    if (!(ROW_FIELDS as readonly string[]).includes(name)) {
      rowError({ file, row: 0, line: header.line }, name === "" ? "(header)" : name, `unknown column; the header may name ${ROW_FIELDS.join(", ")}, or pass --dataset for a known data set`);
    }
  }

  const collector = new RowCollector(options);
  let row = 0;
  for (const [index, record] of records.entries()) {
    if (index === 0 || (record.fields.length === 1 && record.fields[0] === "")) continue;
    row++;
    const position = { file, row, line: record.line };
    const build = (): EvalRow => {
      checkEncoding(position, lastLines[index]!, invalid);
      if (record.fields.length !== columns.length) {
        rowError(position, "(row)", `has ${record.fields.length} cells but the header has ${columns.length} columns; quote cells that contain commas`);
      }
      const cells = new Map(columns.map((name, i) => [name, record.fields[i]!]));
      const cell = (name: string): string | undefined => {
        const value = cells.get(name);
        return value === undefined || value === "" ? undefined : value;
      };
      const content: EvaluationContent = { input: cell("input"), output: cell("output"), context: cell("context"), tools: cell("tools"), toolCall: cell("toolCall") };
      for (const key of Object.keys(content) as (keyof EvaluationContent)[]) if (content[key] === undefined) delete content[key];
      return withOptional({ row, line: record.line, content: checkContent(position, content) }, cell("id"), cell("label"));
    };
    if (!collector.add(build)) break;
  }
  return collector.result;
}

function withOptional(row: EvalRow, id: unknown, label: unknown): EvalRow {
  if (id !== undefined && id !== null) row.id = String(id);
  if (typeof label === "string") row.label = label;
  return row;
}

/** Describes a JSON value for an error message: its type, and the value itself when short. */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  const text = JSON.stringify(value) ?? String(value);
  return `${typeof value} ${text.length > 40 ? `${text.slice(0, 40)}...` : text}`;
}
