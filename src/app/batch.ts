// Batch mode files: rows read from CSV (RFC 4180, header row) or JSON Lines, and results written
// back as JSON Lines. Each row names content fields: input, output, context, tools, tool_call.

import { InvalidInputError } from "../errors.js";
import type { EvaluationContent, MetricResult } from "../metrics/index.js";

export interface BatchRow {
  /** 1-based line (JSONL) or record (CSV, header excluded) number in the file. */
  row: number;
  content: EvaluationContent;
}

export interface BatchOutcome {
  row: number;
  content: EvaluationContent;
  results?: MetricResult[];
  /** Error name and message when the row failed. */
  error?: { name: string; message: string };
}

/** Column or key names accepted for each content field. */
const FIELD_NAMES: Record<string, keyof EvaluationContent> = {
  input: "input",
  text: "input",
  output: "output",
  context: "context",
  tools: "tools",
  tool_call: "toolCall",
  toolcall: "toolCall",
};

/** Parses a batch file by extension (.csv, .jsonl, .ndjson); throws InvalidInputError naming the line at fault. */
export function parseBatchFile(fileName: string, text: string): BatchRow[] {
  const lower = fileName.toLowerCase();
  if (lower.endsWith(".csv")) return parseCsvRows(fileName, text);
  if (lower.endsWith(".jsonl") || lower.endsWith(".ndjson")) return parseJsonlRows(fileName, text);
  throw new InvalidInputError(`${fileName}: unknown batch file type; use a .csv file with a header row or a .jsonl file with one JSON object per line`);
}

export function parseJsonlRows(fileName: string, text: string): BatchRow[] {
  const rows: BatchRow[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new InvalidInputError(`${fileName}: line ${index + 1} is not valid JSON (${(error as Error).message}); write one JSON object per line`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new InvalidInputError(`${fileName}: line ${index + 1} is not a JSON object; write objects such as {"input": "..."}`);
    }
    rows.push({ row: index + 1, content: contentFromRecord(fileName, `line ${index + 1}`, value as Record<string, unknown>) });
  });
  if (rows.length === 0) throw new InvalidInputError(`${fileName}: no rows found; the file is empty`);
  return rows;
}

export function parseCsvRows(fileName: string, text: string): BatchRow[] {
  const records = parseCsv(fileName, text);
  if (records.length === 0) throw new InvalidInputError(`${fileName}: the file is empty; add a header row such as "input,output"`);

  const header = records[0]!.map((name) => name.trim().toLowerCase());
  if (!header.some((name) => name in FIELD_NAMES)) {
    throw new InvalidInputError(`${fileName}: the header row (${header.join(", ")}) names no content column; use input, output, context, tools or tool_call`);
  }

  const rows: BatchRow[] = [];
  records.slice(1).forEach((record, index) => {
    if (record.length === 1 && record[0] === "") return;
    const fields: Record<string, unknown> = {};
    header.forEach((name, column) => (fields[name] = record[column] ?? ""));
    rows.push({ row: index + 1, content: contentFromRecord(fileName, `record ${index + 1}`, fields) });
  });
  if (rows.length === 0) throw new InvalidInputError(`${fileName}: the header row has no data rows under it`);
  return rows;
}

/** Splits CSV text into records of fields: comma separated, double-quoted fields with "" for a quote. */
export function parseCsv(fileName: string, text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = "";
  let quoted = false;
  let line = 1;

  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (char === '"') {
        quoted = false;
      } else {
        if (char === "\n") line++;
        field += char;
      }
      continue;
    }

    if (char === '"' && field === "") quoted = true;
    else if (char === ",") {
      record.push(field);
      field = "";
    } else if (char === "\n" || char === "\r") {
      if (char === "\r" && text[i + 1] === "\n") i++;
      record.push(field);
      records.push(record);
      record = [];
      field = "";
      line++;
    } else field += char;
  }
  if (quoted) throw new InvalidInputError(`${fileName}: a quoted field opened before line ${line} is never closed; add the closing double quote`);
  if (field !== "" || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  return records;
}

function contentFromRecord(fileName: string, where: string, record: Record<string, unknown>): EvaluationContent {
  const content: EvaluationContent = {};
  for (const [name, value] of Object.entries(record)) {
    const field = FIELD_NAMES[name.toLowerCase()];
    if (field === undefined || value === undefined || value === null || value === "") continue;
    if ((field === "tools" || field === "toolCall") && typeof value === "string") content[field] = parseMaybeJson(value);
    else if (field === "tools" || field === "toolCall") content[field] = value;
    else if (typeof value === "string") content[field] = value;
    else throw new InvalidInputError(`${fileName}: ${where}: field "${name}" must be a string, got ${typeof value}`);
  }
  if (Object.keys(content).length === 0) {
    throw new InvalidInputError(`${fileName}: ${where} has no content; fill at least one of input, output, context, tools, tool_call`);
  }
  return content;
}

function parseMaybeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Writes one JSON object per outcome: the row number, its content, and its results or error. */
export function outcomesToJsonl(outcomes: BatchOutcome[]): string {
  return outcomes.map((outcome) => JSON.stringify(outcome)).join("\n") + (outcomes.length > 0 ? "\n" : "");
}
