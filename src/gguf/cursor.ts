// A forward-only, buffered little-endian reader over a ByteSource, used to parse the GGUF header.
// It reads the source in chunks (1 MiB by default) because a model's vocabulary alone can take
// several megabytes of metadata. One source read per value would mean one HTTP request per token.

import { AbortError, GGUFFormatError } from "../errors.js";
import type { ByteSource } from "../io/source.js";

const DEFAULT_CHUNK_SIZE = 1 << 20;

export class ByteCursor {
  private chunk: Uint8Array = new Uint8Array(0);
  private view = new DataView(this.chunk.buffer);
  /** Absolute offset of `chunk[0]` in the source. */
  private chunkStart = 0;
  /** Absolute offset of the next byte to read. */
  private position = 0;

  constructor(
    private readonly source: ByteSource,
    private readonly signal?: AbortSignal,
    private readonly chunkSize = DEFAULT_CHUNK_SIZE,
  ) {}

  get offset(): number {
    return this.position;
  }

  /** Bytes left between the current offset and the end of the source. */
  get remaining(): number {
    return this.source.size - this.position;
  }

  /** True when the next `count` bytes are already buffered, so the sync readers may be used. */
  has(count: number): boolean {
    return this.position + count <= this.chunkStart + this.chunk.length;
  }

  /**
   * Buffers at least the next `count` bytes. Throws `GGUFFormatError` naming `field` when the
   * source ends first, and `AbortError` when the signal fired.
   */
  async ensure(count: number, field: string): Promise<void> {
    if (this.has(count)) return;
    if (this.signal?.aborted) throw new AbortError(`${this.source.name}: reading the GGUF header was aborted`);

    if (count > this.remaining) {
      throw new GGUFFormatError(
        this.source.name,
        field,
        `the file is truncated: ${count} bytes are needed at offset ${this.position}, but only ${this.remaining} remain; re-download or regenerate the file`,
        this.position,
      );
    }

    const length = Math.min(Math.max(count, this.chunkSize), this.remaining);
    this.chunk = await this.source.read(this.position, length, this.signal);
    this.view = new DataView(this.chunk.buffer, this.chunk.byteOffset, this.chunk.byteLength);
    this.chunkStart = this.position;
  }

  /** Advances past `count` buffered bytes and returns where they start in `chunk`. */
  private take(count: number): number {
    const index = this.position - this.chunkStart;
    this.position += count;
    return index;
  }

  // The sync readers below require a preceding `ensure` (or `has`) for their size.

  u8(): number { return this.view.getUint8(this.take(1)); }
  i8(): number { return this.view.getInt8(this.take(1)); }
  u16(): number { return this.view.getUint16(this.take(2), true); }
  i16(): number { return this.view.getInt16(this.take(2), true); }
  u32(): number { return this.view.getUint32(this.take(4), true); }
  i32(): number { return this.view.getInt32(this.take(4), true); }
  f32(): number { return this.view.getFloat32(this.take(4), true); }
  f64(): number { return this.view.getFloat64(this.take(8), true); }
  u64(): bigint { return this.view.getBigUint64(this.take(8), true); }
  i64(): bigint { return this.view.getBigInt64(this.take(8), true); }

  /** Returns a view of the next `count` buffered bytes. */
  bytes(count: number): Uint8Array {
    const index = this.take(count);
    return this.chunk.subarray(index, index + count);
  }

  async readU32(field: string): Promise<number> {
    await this.ensure(4, field);
    return this.u32();
  }

  async readU64(field: string): Promise<bigint> {
    await this.ensure(8, field);
    return this.u64();
  }
}
