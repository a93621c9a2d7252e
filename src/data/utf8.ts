// Decoding of data files that may contain invalid UTF-8. The text is decoded with U+FFFD in place
// of each invalid sequence, as TextDecoder does, and every line that contained one is reported, so
// readers can reject exactly the rows that span those lines instead of judging altered text.

/** The first invalid UTF-8 sequence of one line of a file. */
export interface InvalidUtf8 {
  /** 1-based line of the file. */
  line: number;
  /** 0-based byte offset of the sequence from the start of the file (a byte order mark included). */
  offset: number;
}

export interface DecodedDataFile {
  /** The file's text without a leading byte order mark; invalid sequences are U+FFFD. */
  text: string;
  /** One entry per line with invalid UTF-8, in line order; empty for a valid file. */
  invalid: InvalidUtf8[];
}

/** Decodes `bytes` as UTF-8, dropping a leading byte order mark and listing the lines with invalid sequences. */
export function decodeDataFile(bytes: Uint8Array): DecodedDataFile {
  // TextDecoder drops a leading byte order mark unless ignoreBOM is set.
  const text = new TextDecoder("utf-8").decode(bytes);
  return { text, invalid: text.includes("\uFFFD") ? findInvalidUtf8(bytes) : [] };
}

/** Returns the first invalid sequence of each line of `bytes`. */
export function findInvalidUtf8(bytes: Uint8Array): InvalidUtf8[] {
  const invalid: InvalidUtf8[] = [];
  let line = 1;
  let reportedLine = 0;
  let i = 0;

  while (i < bytes.length) {
    const byte = bytes[i]!;
    if (byte === 0x0a) {
      line++;
      i++;
      continue;
    }

    const length = sequenceLength(bytes, i);
    if (length === 0) {
      if (reportedLine !== line) invalid.push({ line, offset: i });
      reportedLine = line;
      i++;
    } else {
      i += length;
    }
  }
  return invalid;
}

/**
 * Returns the length of the valid UTF-8 sequence that starts at `start`, or 0 when the bytes there
 * are not one (a stray continuation byte, an overlong form, a surrogate, a code point above
 * U+10FFFF, or a sequence cut short). The ranges are those of RFC 3629, section 4.
 */
function sequenceLength(bytes: Uint8Array, start: number): number {
  const lead = bytes[start]!;
  if (lead < 0x80) return 1;

  // The allowed range of the second byte depends on the lead byte; later bytes are 80..BF.
  let length: number;
  let low = 0x80;
  let high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) {
    length = 2;
  } else if (lead >= 0xe0 && lead <= 0xef) {
    length = 3;
    if (lead === 0xe0) low = 0xa0;
    if (lead === 0xed) high = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    length = 4;
    if (lead === 0xf0) low = 0x90;
    if (lead === 0xf4) high = 0x8f;
  } else {
    return 0;
  }

  if (start + length > bytes.length) return 0;
  const second = bytes[start + 1]!;
  if (second < low || second > high) return 0;
  for (let k = 2; k < length; k++) {
    const next = bytes[start + k]!;
    if (next < 0x80 || next > 0xbf) return 0;
  }
  return length;
}
