// Reads an evaluation data file from disk (Node only): picks the reader from the data set name,
// the explicit format or the file extension.

import { readFile } from "node:fs/promises";
import { extname } from "node:path";

import { InvalidInputError, IOError } from "../errors.js";
import { readDavidsonRows, readHaluEvalRows, DATASETS, type DatasetName } from "./datasets.js";
import { readCsvRows, readJsonlRows, type RowReadOptions, type RowReadResult } from "./rows.js";
import { decodeDataFile } from "./utf8.js";

export const ROW_FORMATS = ["jsonl", "csv"] as const;
export type RowFormat = (typeof ROW_FORMATS)[number];

export interface ReadEvalRowsOptions extends RowReadOptions {
  /** The file's format; taken from the extension when omitted (.csv is CSV, .jsonl, .ndjson and .json are JSONL). */
  format?: RowFormat;
  /** A known labeled data set, read with its own column mapping in place of the generic one. */
  dataset?: DatasetName;
}

/** Returns the format of `path` from its extension, or throws `InvalidInputError` when it has none we know. */
export function formatFromExtension(path: string): RowFormat {
  const extension = extname(path).toLowerCase();
  if (extension === ".csv") return "csv";
  if (extension === ".jsonl" || extension === ".ndjson" || extension === ".json") return "jsonl";
  throw new InvalidInputError(`${path}: cannot tell the format from the extension "${extension}"; pass --format ${ROW_FORMATS.join(" or ")}`);
}

/**
 * Reads every row of `path`, decoded as UTF-8 without a leading byte order mark. Throws `IOError`
 * when the file cannot be read and `DataRowError` for the first invalid row unless `skipInvalid`
 * is set. A row on a line with invalid UTF-8 is an invalid row that names the byte offset.
 * NOTE: the whole file is read into memory before parsing, even with a limit.
 */
export async function readEvalRows(path: string, options: ReadEvalRowsOptions = {}): Promise<RowReadResult> {
  if (options.dataset !== undefined && !(DATASETS as readonly string[]).includes(options.dataset)) {
    throw new InvalidInputError(`unknown data set "${options.dataset}"; known data sets are ${DATASETS.join(", ")}`);
  }
  if (options.limit !== undefined && (!Number.isInteger(options.limit) || options.limit < 1)) {
    throw new InvalidInputError(`limit ${options.limit} is invalid; pass a positive integer`);
  }

  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (cause) {
    throw new IOError(`${path}: failed to read the data file: ${(cause as Error).message}; check the --input path`, { cause });
  }
  // Rows on lines with invalid UTF-8 become DataRowError, so no row is judged on altered text.
  const { text, invalid } = decodeDataFile(bytes);
  const readOptions = { ...options, invalidUtf8: invalid };

  if (options.dataset === "davidson") return readDavidsonRows(text, path, readOptions);
  if (options.dataset === "halueval") return readHaluEvalRows(text, path, readOptions);
  const format = options.format ?? formatFromExtension(path);
  return format === "csv" ? readCsvRows(text, path, readOptions) : readJsonlRows(text, path, readOptions);
}
