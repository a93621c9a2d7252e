// Node-only GGUF file writer: streams the header and each tensor to disk instead of building the
// whole file in memory first, so fixture generators can write models of any size.

import { open } from "node:fs/promises";

import { IOError } from "../errors.js";
import { encodeGGUFHeader, type GGUFWriteInput } from "./writer.js";

/** Writes a GGUF file to `path`, replacing any existing file. Validation errors match `writeGGUF`. */
export async function writeGGUFFile(path: string, input: GGUFWriteInput): Promise<void> {
  const { header, tensorOffsets, dataSize } = encodeGGUFHeader(input);

  let handle;
  try {
    handle = await open(path, "w");
  } catch (cause) {
    throw new IOError(`${path}: failed to open for writing: ${(cause as Error).message}`, { cause });
  }

  try {
    await handle.write(header, 0, header.length, 0);

    // Positional writes leave the alignment padding between tensors as zero-filled holes.
    for (const [index, tensor] of input.tensors.entries()) {
      await handle.write(tensor.data, 0, tensor.data.length, header.length + tensorOffsets[index]!);
    }
    await handle.truncate(header.length + dataSize);
  } catch (cause) {
    throw new IOError(`${path}: failed to write the GGUF file: ${(cause as Error).message}`, { cause });
  } finally {
    await handle.close();
  }
}
