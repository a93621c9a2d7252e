// A ByteSource over bytes already in memory: tests, generated fixtures, or a file the caller loaded.

import { AbortError } from "../errors.js";
import type { ByteSource } from "./source.js";
import { checkReadRange } from "./range.js";

export class MemorySource implements ByteSource {
  readonly size: number;

  constructor(
    readonly name: string,
    private readonly bytes: Uint8Array,
  ) {
    this.size = bytes.length;
  }

  /** Returns a view into the underlying bytes, not a copy, so callers must not modify it. */
  async read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    if (signal?.aborted) throw new AbortError(`${this.name}: read aborted`);
    checkReadRange(this.name, this.size, offset, length);
    return this.bytes.subarray(offset, offset + length);
  }
}
