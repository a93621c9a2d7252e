import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { AbortError, IOError } from "../../src/errors.js";
import { meta } from "../../src/gguf/metadata.js";
import { GGUFFile } from "../../src/gguf/reader.js";
import { GGMLType } from "../../src/gguf/types.js";
import { writeGGUFFile } from "../../src/gguf/write-file.js";
import { writeGGUF, type GGUFWriteInput } from "../../src/gguf/writer.js";
import { BlobSource } from "../../src/io/blob.js";
import { MemorySource } from "../../src/io/memory.js";
import { openFileSource } from "../../src/io/node-file.js";
import type { ByteSource } from "../../src/io/source.js";
import { expectRejects } from "../gguf/helpers.js";

const BYTES = Uint8Array.from({ length: 3000 }, (_, i) => (i * 7) % 251);

let directory: string;
let filePath: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), "tokenjudge-io-"));
  filePath = join(directory, "bytes.bin");
  await writeFile(filePath, BYTES);
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

/** The same contract checks for every ByteSource implementation. */
function checkSource(label: string, open: () => Promise<ByteSource>): void {
  describe(label, () => {
    it("reads ranges", async () => {
      const source = await open();
      expect(source.size).toBe(BYTES.length);
      expect(await source.read(0, 10)).toEqual(BYTES.subarray(0, 10));
      expect(await source.read(2990, 10)).toEqual(BYTES.subarray(2990));
      expect(await source.read(1234, 0)).toEqual(new Uint8Array(0));
      expect(await source.read(0, BYTES.length)).toEqual(BYTES);
      await source.close?.();
    });

    it("rejects ranges outside the source", async () => {
      const source = await open();
      await expectRejects(source.read(2995, 6), IOError, "IO_FAILED", [source.name, "2995", "past the end"]);
      await expectRejects(source.read(3001, 0), IOError, "IO_FAILED", ["3001"]);
      await expectRejects(source.read(-1, 4), IOError, "IO_FAILED", ["-1", "non-negative"]);
      await expectRejects(source.read(1.5, 4), IOError, "IO_FAILED", ["1.5"]);
      await source.close?.();
    });

    it("rejects an aborted signal", async () => {
      const source = await open();
      const controller = new AbortController();
      controller.abort();
      await expectRejects(source.read(0, 4, controller.signal), AbortError, "ABORTED", []);
      await source.close?.();
    });
  });
}

checkSource("MemorySource", async () => new MemorySource("memory.bin", BYTES));
checkSource("BlobSource", async () => new BlobSource(new Blob([BYTES]), "blob.bin"));
checkSource("openFileSource", () => openFileSource(filePath));

describe("openFileSource errors", () => {
  it("rejects a missing file", async () => {
    await expectRejects(openFileSource(join(directory, "absent.gguf")), IOError, "IO_FAILED", ["absent.gguf", "failed to open"]);
  });

  it("rejects a directory", async () => {
    await expectRejects(openFileSource(directory), IOError, "IO_FAILED", [directory, "not a regular file"]);
  });

  it("rejects reads after close", async () => {
    const source = await openFileSource(filePath);
    await source.close?.();
    await expectRejects(source.read(0, 1), IOError, "IO_FAILED", ["after close"]);
  });
});

describe("BlobSource naming", () => {
  it("uses the File name", () => {
    expect(new BlobSource(new File([BYTES], "picked.gguf")).name).toBe("picked.gguf");
    expect(new BlobSource(new Blob([BYTES])).name).toBe("<blob>");
  });
});

describe("writeGGUFFile", () => {
  it("writes the same bytes as writeGGUF", async () => {
    const input: GGUFWriteInput = {
      alignment: 64,
      metadata: { "general.architecture": meta.str("llama"), "llama.block_count": meta.u32(1) },
      tensors: [
        { name: "a", dims: [3], type: GGMLType.F32, data: Uint8Array.from({ length: 12 }, (_, i) => i + 1) },
        { name: "b", dims: [32], type: GGMLType.Q8_0, data: Uint8Array.from({ length: 34 }, (_, i) => 200 - i) },
      ],
    };
    const path = join(directory, "written.gguf");
    await writeGGUFFile(path, input);

    const source = await openFileSource(path);
    const onDisk = await source.read(0, source.size);
    expect(onDisk).toEqual(writeGGUF(input));

    const file = await GGUFFile.open(source);
    expect(await file.readTensorBytes("b")).toEqual(input.tensors[1]!.data);
    await source.close?.();
  });

  it("reports an unwritable path", async () => {
    await expectRejects(writeGGUFFile(join(directory, "no", "such", "dir.gguf"), { metadata: {}, tensors: [] }), IOError, "IO_FAILED", ["dir.gguf"]);
  });
});
