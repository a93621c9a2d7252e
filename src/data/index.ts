// Public entry of evaluation data: evaluation rows, the CSV parser and the labeled data set readers.
// `readEvalRows` reads files with node:fs, so it stays a separate import ("./read.js").

export { parseCsv, type CsvRecord } from "./csv.js";
export { DATASET_METRICS, DATASETS, DAVIDSON_CLASSES, readDavidsonRows, readHaluEvalRows, type DatasetName } from "./datasets.js";
export { decodeDataFile, findInvalidUtf8, type DecodedDataFile, type InvalidUtf8 } from "./utf8.js";
export { checkContent, readCsvRows, readJsonlRows, ROW_FIELDS, RowCollector, type EvalRow, type RowReadOptions, type RowReadResult } from "./rows.js";
