// A CSV parser for the RFC 4180 dialect: comma-separated fields, fields in double quotes may
// contain commas, line breaks and doubled quotes (""), records end with LF or CRLF. A quote inside
// an unquoted field is kept as a literal character, as Python's csv module and most spreadsheet
// exports do.

import { DataRowError } from "../errors.js";

export interface CsvRecord {
  /** 1-based line of the file where the record starts. */
  line: number;
  fields: string[];
}

/**
 * Splits `text` into records. An empty last line is not a record. Throws `DataRowError` for a
 * quoted field that is never closed or is followed by text other than a comma or line break. Its
 * row number counts the records before the bad one, which is the data row number when the first
 * record is a header. `file` names the source in error messages.
 */
export function parseCsv(text: string, file: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = "";
  let line = 1;
  let recordLine = 1;
  let recordStarted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // skips a UTF-8 byte order mark

  const endField = (): void => {
    fields.push(field);
    field = "";
  };
  const endRecord = (): void => {
    endField();
    records.push({ line: recordLine, fields });
    fields = [];
    recordLine = line;
    recordStarted = false;
  };

  while (i < text.length) {
    const char = text[i]!;

    recordStarted = true;
    if (char === '"' && field === "") {
      // Quoted field: read up to the closing quote, turning "" into ".
      const startLine = line;
      i++;
      for (;;) {
        if (i >= text.length) {
          throw new DataRowError(file, records.length, startLine, `column ${fields.length + 1}`, "a quoted field is never closed; add the closing double quote");
        }
        const inner = text[i]!;
        if (inner === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (inner === "\n") line++;
        field += inner;
        i++;
      }

      const next = text[i];
      if (next !== undefined && next !== "," && next !== "\n" && next !== "\r") {
        throw new DataRowError(
          file,
          records.length,
          line,
          `column ${fields.length + 1}`,
          `unexpected ${JSON.stringify(next)} after a closing double quote; write a literal quote inside a quoted field as ""`,
        );
      }
      continue;
    }

    if (char === ",") {
      endField();
      i++;
    } else if (char === "\r" && text[i + 1] === "\n") {
      line++;
      i += 2;
      endRecord();
    } else if (char === "\n") {
      line++;
      i++;
      endRecord();
    } else {
      field += char;
      i++;
    }
  }

  // The last record when the file does not end with a line break.
  if (recordStarted) endRecord();
  return records;
}
