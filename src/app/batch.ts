// Batch mode files, read with the library's row readers (src/data) as `tokenjudge eval` reads them.
// They are generic CSV (a header naming id, input, output, context, tools, toolCall, label), JSONL
// with those keys, or the Davidson and HaluEval data sets. Results are written back as JSON Lines.

import { DataRowError, InvalidInputError } from "../errors.js";
import { decodeDataFile, readCsvRows, readDavidsonRows, readHaluEvalRows, readJsonlRows, type DatasetName, type EvalRow, type RowReadResult } from "../data/index.js";
import type { EvaluationContent, MetricResult } from "../metrics/index.js";

/** How to read a batch file: detected from its contents, generic rows, or a known data set. */
export type BatchFormat = "auto" | "rows" | DatasetName;

/** One data row of a batch file: a row to evaluate, or the error that made it invalid. */
export type BatchEntry = { row: EvalRow } | { invalid: DataRowError };

export interface BatchFile {
  name: string;
  /** The reader used: generic rows or a data set. */
  format: Exclude<BatchFormat, "auto">;
  /** Every data row in file order, the invalid ones included. */
  entries: BatchEntry[];
  /** Rows that can be evaluated. */
  validRows: number;
  /** Rows with invalid content or encoding, which the run reports as failed without evaluating. */
  invalidRows: number;
}

export interface BatchOutcome {
  /** 1-based data row of the file; a CSV header and blank lines are not counted. */
  row: number;
  /** 1-based line of the file where the row starts. */
  line: number;
  id?: string;
  /** The label the file assigns to the row, for scoring verdicts. */
  label?: string;
  /**
   * The evaluated content; absent for an invalid row. For a failed row, each field longer than
   * FAILED_FIELD_CHARACTERS is cut to an excerpt, and `cutFields` stores its full length.
   */
  content?: EvaluationContent;
  /** Full lengths, in UTF-16 code units (of the JSON text for tools and toolCall), of the fields cut in `content`. */
  cutFields?: Partial<Record<keyof EvaluationContent, number>>;
  results?: MetricResult[];
  /** Error name, code and message when the row failed. */
  error?: { name: string; code?: string; message: string };
}

/**
 * Reads a batch file from its bytes. Invalid UTF-8 and invalid rows become invalid entries, so
 * one bad row does not reject the file. Throws `DataRowError` for a bad header (a duplicate or
 * unknown column, invalid UTF-8 in it) or an unclosed CSV quote, and `InvalidInputError` for an
 * unknown file type or a file without rows.
 */
export function readBatchFile(name: string, bytes: Uint8Array, format: BatchFormat = "auto"): BatchFile {
  const { text, invalid } = decodeDataFile(bytes);
  const csv = name.toLowerCase().endsWith(".csv");
  const json = /\.(jsonl|ndjson|json)$/i.test(name);
  if (!csv && !json) {
    throw new InvalidInputError(`${name}: unknown batch file type; use a .csv file with a header row or a .jsonl file with one JSON object per line`);
  }

  const chosen = format === "auto" ? detectFormat(text, csv) : format;
  const options = { skipInvalid: true, invalidUtf8: invalid };
  let result: RowReadResult;
  if (chosen === "davidson") result = readDavidsonRows(text, name, options);
  else if (chosen === "halueval") result = readHaluEvalRows(text, name, options);
  else result = csv ? readCsvRows(text, name, options) : readJsonlRows(text, name, options);

  const entries: BatchEntry[] = [...result.rows.map((row) => ({ row })), ...result.skipped.map((error) => ({ invalid: error }))];
  entries.sort((a, b) => entryRow(a) - entryRow(b));
  if (entries.length === 0) {
    throw new InvalidInputError(`${name}: no data rows found; add ${csv ? "rows under the header row" : "one JSON object per line"}`);
  }
  return { name, format: chosen, entries, validRows: result.rows.length, invalidRows: result.skipped.length };
}

function entryRow(entry: BatchEntry): number {
  return "row" in entry ? entry.row.row : entry.invalid.row;
}

/**
 * Detects a known data set: a CSV header with the Davidson `class` and `tweet` columns, or a first
 * JSON line with the HaluEval `user_query` key. Anything else is read as generic rows.
 */
export function detectFormat(text: string, csv: boolean): Exclude<BatchFormat, "auto"> {
  const firstLine = text.split("\n").find((line) => line.trim() !== "") ?? "";
  if (csv) {
    const columns = firstLine.split(",").map((column) => column.trim());
    return columns.includes("class") && columns.includes("tweet") ? "davidson" : "rows";
  }

  let first: unknown;
  try {
    first = JSON.parse(firstLine);
  } catch {
    // The generic reader reports the invalid line with its position.
    return "rows";
  }
  return typeof first === "object" && first !== null && "user_query" in first ? "halueval" : "rows";
}

/** Returns the outcome of an invalid entry: its position and the error, without evaluating it. */
export function invalidOutcome(error: DataRowError): BatchOutcome {
  return { row: error.row, line: error.line, error: { name: error.name, code: error.code, message: error.message } };
}

/**
 * Max characters of one content field kept in a failed row's outcome. A row often fails because a
 * field is far too long, and the download should not repeat megabytes of it.
 */
export const FAILED_FIELD_CHARACTERS = 1_000;

/** Returns the outcome of an evaluated row, or of one whose evaluation failed with `error`. */
export function rowOutcome(row: EvalRow, result: { results: MetricResult[] } | { error: unknown }): BatchOutcome {
  const outcome: BatchOutcome = { row: row.row, line: row.line };
  if (row.id !== undefined) outcome.id = row.id;
  if (row.label !== undefined) outcome.label = row.label;
  if ("results" in result) {
    outcome.content = row.content;
    outcome.results = result.results;
  } else {
    const { content, cutFields } = excerptContent(row.content);
    outcome.content = content;
    if (cutFields !== undefined) outcome.cutFields = cutFields;
    const error = result.error as Partial<Error> & { code?: unknown };
    outcome.error = { name: error.name ?? "Error", message: error.message ?? String(result.error) };
    if (typeof error.code === "string") outcome.error.code = error.code;
  }
  return outcome;
}

/** Writes one JSON object per outcome: the row's position, its content, and its results or error. */
export function outcomesToJsonl(outcomes: BatchOutcome[]): string {
  return outcomes.map((outcome) => JSON.stringify(outcome)).join("\n") + (outcomes.length > 0 ? "\n" : "");
}

/** Cuts each field of `content` longer than FAILED_FIELD_CHARACTERS. Tools and toolCall are cut as JSON text. */
function excerptContent(content: EvaluationContent): { content: EvaluationContent; cutFields?: Partial<Record<keyof EvaluationContent, number>> } {
  const excerpt: EvaluationContent = { ...content };
  const cutFields: Partial<Record<keyof EvaluationContent, number>> = {};
  for (const key of Object.keys(content) as (keyof EvaluationContent)[]) {
    const value = content[key];
    const text = typeof value === "string" ? value : JSON.stringify(value);
    if (text === undefined || text.length <= FAILED_FIELD_CHARACTERS) continue;

    // Cutting before a low surrogate would leave its high surrogate alone, so the cut moves back one.
    const low = text.charCodeAt(FAILED_FIELD_CHARACTERS);
    const end = low >= 0xdc00 && low <= 0xdfff ? FAILED_FIELD_CHARACTERS - 1 : FAILED_FIELD_CHARACTERS;
    excerpt[key] = `${text.slice(0, end)}…`;
    cutFields[key] = text.length;
  }
  return Object.keys(cutFields).length === 0 ? { content: excerpt } : { content: excerpt, cutFields };
}
