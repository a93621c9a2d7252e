// Text helpers shared by the tokenizers: UTF-8 conversion, the lone-surrogate check, and the
// byte-to-character table of byte-level BPE (GPT-2 style), which stores every byte as a printable
// character so merges and vocabulary entries are plain strings.

import { InvalidInputError } from "../errors.js";

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: false });

export function utf8Bytes(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/** Decodes UTF-8, replacing invalid sequences (a token can end inside a character) with U+FFFD. */
export function utf8Text(bytes: Uint8Array): string {
  return utf8Decoder.decode(bytes);
}

/**
 * Throws `InvalidInputError` when `text` contains an unpaired UTF-16 surrogate. Such a string has
 * no UTF-8 form, and encoding it would silently replace the surrogate with U+FFFD. `label` names
 * the input in the error message.
 */
export function assertWellFormed(text: string, label: string): void {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0xd800 || unit > 0xdfff) continue;

    const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
    if (unit <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      i++;
      continue;
    }
    const hex = unit.toString(16).toUpperCase().padStart(4, "0");
    throw new InvalidInputError(
      `${label}: lone UTF-16 surrogate U+${hex} at index ${i}, which has no UTF-8 form. ` +
        "Remove the character or repair the string (for example with String.prototype.toWellFormed) before tokenizing.",
    );
  }
}

/**
 * Byte-level BPE alphabet: printable Latin-1 bytes map to themselves and the remaining 68 bytes
 * (controls, space, 0x7F-0xA0, 0xAD) map to U+0100 upwards in byte order, so byte 0x20 is "Ġ".
 */
function buildByteAlphabet(): { byteToChar: string[]; charToByte: Map<string, number> } {
  const byteToChar: string[] = new Array<string>(256);
  let next = 0x100;
  for (let byte = 0; byte < 256; byte++) {
    const printable = (byte >= 0x21 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xac) || (byte >= 0xae && byte <= 0xff);
    byteToChar[byte] = String.fromCodePoint(printable ? byte : next++);
  }

  const charToByte = new Map<string, number>();
  byteToChar.forEach((char, byte) => charToByte.set(char, byte));
  return { byteToChar, charToByte };
}

const alphabet = buildByteAlphabet();

/** Maps UTF-8 bytes of `text` to the byte-level BPE alphabet. */
export function toByteLevel(text: string): string {
  let out = "";
  for (const byte of utf8Bytes(text)) out += alphabet.byteToChar[byte]!;
  return out;
}

/**
 * Maps a byte-level string back to bytes. Returns undefined when a character is outside the
 * alphabet, which happens for added tokens stored as plain text.
 */
export function fromByteLevel(text: string): Uint8Array | undefined {
  const bytes: number[] = [];
  for (const char of text) {
    const byte = alphabet.charToByte.get(char);
    if (byte === undefined) return undefined;
    bytes.push(byte);
  }
  return Uint8Array.from(bytes);
}
