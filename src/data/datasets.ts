// Readers for two public labeled data sets, mapped to evaluation rows:
// - Davidson et al. (2017) hate speech and offensive language tweets: a CSV file whose columns are
//   an unnamed row index, count, hate_speech, offensive_language, neither, class and tweet, where
//   class is 0 (hate speech), 1 (offensive language) or 2 (neither). The tweet becomes `input`.
//   Tweets are kept as written, HTML entities such as "&amp;" included.
// - HaluEval "general": one JSON object per line with ID, user_query, chatgpt_response,
//   hallucination ("yes" or "no") and hallucination_spans. The query becomes `input`, the
//   response `output`. The set has no source passage, so the query also fills `context`, which the
//   built-in hallucination metric reads.

import { parseCsv } from "./csv.js";
import {
  checkContent,
  checkEncoding,
  describeValue,
  invalidLines,
  parseJsonLine,
  readHeader,
  recordLastLines,
  RowCollector,
  rowError,
  stripByteOrderMark,
  type EvalRow,
  type RowReadOptions,
  type RowReadResult,
} from "./rows.js";

export const DATASETS = ["davidson", "halueval"] as const;
export type DatasetName = (typeof DATASETS)[number];

/** The built-in metrics each data set's labels speak to, used when `--metrics` is not given. */
export const DATASET_METRICS: Record<DatasetName, string[]> = {
  davidson: ["toxicity"],
  halueval: ["hallucination"],
};

/** Davidson `class` values to label names. */
export const DAVIDSON_CLASSES: Readonly<Record<string, string>> = { "0": "hate", "1": "offensive", "2": "neither" };
const DAVIDSON_COLUMNS = ["class", "tweet"] as const;

/** Reads the Davidson CSV text. The unnamed first column becomes the row id. */
export function readDavidsonRows(text: string, file: string, options: RowReadOptions = {}): RowReadResult {
  const records = parseCsv(text, file);
  const header = records[0];
  if (header === undefined) return { rows: [], skipped: [] };

  const invalid = invalidLines(options);
  const lastLines = recordLastLines(records, text);
  const columns = readHeader(header, lastLines[0]!, file, invalid);
  for (const name of DAVIDSON_COLUMNS) {
    if (!columns.includes(name)) {
      rowError({ file, row: 0, line: header.line }, name, `column is missing from the header (${columns.join(", ")}); is this the Davidson labeled_data.csv file?`);
    }
  }
  const classColumn = columns.indexOf("class");
  const tweetColumn = columns.indexOf("tweet");
  const idColumn = columns.indexOf("");

  const collector = new RowCollector(options);
  let row = 0;
  for (const [index, record] of records.entries()) {
    if (index === 0 || (record.fields.length === 1 && record.fields[0] === "")) continue;
    row++;
    const position = { file, row, line: record.line };
    const build = (): EvalRow => {
      checkEncoding(position, lastLines[index]!, invalid);
      if (record.fields.length !== columns.length) {
        rowError(position, "(row)", `has ${record.fields.length} cells but the header has ${columns.length} columns; the file is damaged, so fetch it again`);
      }
      const label = DAVIDSON_CLASSES[record.fields[classColumn]!];
      if (label === undefined) rowError(position, "class", `"${record.fields[classColumn]}" is not 0, 1 or 2`);
      const content = checkContent(position, { input: record.fields[tweetColumn]! });

      const result: EvalRow = { row, line: record.line, content, label };
      if (idColumn >= 0) result.id = record.fields[idColumn]!;
      return result;
    };
    if (!collector.add(build)) break;
  }
  return collector.result;
}

/** Reads the HaluEval general JSONL text. */
export function readHaluEvalRows(text: string, file: string, options: RowReadOptions = {}): RowReadResult {
  const collector = new RowCollector(options);
  const invalid = invalidLines(options);
  let row = 0;

  for (const [index, lineText] of stripByteOrderMark(text).split("\n").entries()) {
    if (lineText.trim() === "") continue;
    row++;
    const position = { file, row, line: index + 1 };
    const build = (): EvalRow => {
      checkEncoding(position, position.line, invalid);
      const object = parseJsonLine(position, lineText);
      const query = requireString(position, object, "user_query");
      const response = requireString(position, object, "chatgpt_response");
      const label = requireString(position, object, "hallucination");
      if (label !== "yes" && label !== "no") rowError(position, "hallucination", `"${label}" is not "yes" or "no"`);

      const result: EvalRow = { row, line: index + 1, content: checkContent(position, { input: query, context: query, output: response }), label };
      if (typeof object.ID === "string" || typeof object.ID === "number") result.id = String(object.ID);
      return result;
    };
    if (!collector.add(build)) break;
  }
  return collector.result;
}

function requireString(position: { file: string; row: number; line: number }, object: Record<string, unknown>, key: string): string {
  const value = object[key];
  if (typeof value !== "string") rowError(position, key, `expected a string, got ${value === undefined ? "nothing" : describeValue(value)}; is this the HaluEval general_data.json file?`);
  return value;
}
