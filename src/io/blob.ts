// A ByteSource over a Blob or File (a file the user picked in the browser, or a cached download),
// read through Blob.slice so only the requested range is loaded.

import { AbortError, IOError } from "../errors.js";
import { checkReadRange } from "./range.js";
import type { ByteSource } from "./source.js";

export class BlobSource implements ByteSource {
  readonly name: string;
  readonly size: number;

  /** `name` defaults to the File's name, else "<blob>". */
  constructor(
    private readonly blob: Blob,
    name?: string,
  ) {
    this.name = name ?? ((blob as Partial<File>).name || "<blob>");
    this.size = blob.size;
  }

  async read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    if (signal?.aborted) throw new AbortError(`${this.name}: read aborted`);
    checkReadRange(this.name, this.size, offset, length);

    let buffer: ArrayBuffer;
    try {
      buffer = await this.blob.slice(offset, offset + length).arrayBuffer();
    } catch (cause) {
      throw new IOError(`${this.name}: failed to read ${length} bytes at offset ${offset}: ${(cause as Error).message}; the file may have changed since it was selected`, { cause });
    }
    if (signal?.aborted) throw new AbortError(`${this.name}: read aborted`);

    if (buffer.byteLength !== length) {
      throw new IOError(`${this.name}: read ${buffer.byteLength} bytes at offset ${offset}, expected ${length}; the file may have changed since it was selected`);
    }
    return new Uint8Array(buffer);
  }
}
