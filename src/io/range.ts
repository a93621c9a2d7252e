// Range validation shared by the ByteSource implementations.

import { IOError } from "../errors.js";

/** Throws `IOError` unless `offset` and `length` are non-negative integers and the range lies inside `size`. */
export function checkReadRange(name: string, size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 0) {
    throw new IOError(`${name}: invalid read of ${length} bytes at offset ${offset}; offset and length must be non-negative integers`);
  }
  if (offset + length > size) {
    throw new IOError(`${name}: read of ${length} bytes at offset ${offset} ends past the end of the ${size}-byte source; the file is truncated or the offset is wrong`);
  }
}
