// A ByteSource over a local file (Node only): positional reads through one fs FileHandle, so a
// multi-gigabyte model is never loaded whole.

import { open, type FileHandle } from "node:fs/promises";

import { AbortError, IOError } from "../errors.js";
import { checkReadRange } from "./range.js";
import type { ByteSource } from "./source.js";

class FileSource implements ByteSource {
  private closed = false;

  constructor(
    readonly name: string,
    readonly size: number,
    private readonly handle: FileHandle,
  ) {}

  async read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    if (signal?.aborted) throw new AbortError(`${this.name}: read aborted`);
    if (this.closed) throw new IOError(`${this.name}: read after close; open the file again`);
    checkReadRange(this.name, this.size, offset, length);

    // FileHandle.read may return fewer bytes than requested, so loop until the range is filled.
    const bytes = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await this.handle.read(bytes, filled, length - filled, offset + filled));
      } catch (cause) {
        throw new IOError(`${this.name}: failed to read ${length} bytes at offset ${offset}: ${(cause as Error).message}`, { cause });
      }
      if (bytesRead === 0) {
        throw new IOError(`${this.name}: the file ended at byte ${offset + filled} while reading ${length} bytes at offset ${offset}; it shrank after it was opened`);
      }
      filled += bytesRead;
    }
    return bytes;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

/** Opens `path` for random-access reads. Rejects with IOError when the file cannot be opened or is not a regular file. */
export async function openFileSource(path: string): Promise<ByteSource> {
  let handle: FileHandle;
  try {
    handle = await open(path, "r");
  } catch (cause) {
    throw new IOError(`${path}: failed to open: ${(cause as Error).message}; check the path and its permissions`, { cause });
  }

  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new IOError(`${path}: not a regular file; pass the path of a .gguf file`);
    return new FileSource(path, stats.size, handle);
  } catch (error) {
    await handle.close();
    if (error instanceof IOError) throw error;
    throw new IOError(`${path}: failed to stat: ${(error as Error).message}`, { cause: error });
  }
}
