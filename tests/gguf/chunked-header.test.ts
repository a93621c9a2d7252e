import { describe, expect, it } from "vitest";

import { parseGGUFHeader } from "../../src/gguf/header.js";
import { meta } from "../../src/gguf/metadata.js";
import { GGMLType, GGUFValueType } from "../../src/gguf/types.js";
import { writeGGUF } from "../../src/gguf/writer.js";
import { MemorySource } from "../../src/io/memory.js";
import type { ByteSource } from "../../src/io/source.js";

/** Wraps a source and records every read, to check how the header parser reads. */
class CountingSource implements ByteSource {
  readonly reads: [offset: number, length: number][] = [];

  constructor(private readonly inner: ByteSource) {}

  get name(): string {
    return this.inner.name;
  }

  get size(): number {
    return this.inner.size;
  }

  read(offset: number, length: number, signal?: AbortSignal): Promise<Uint8Array> {
    this.reads.push([offset, length]);
    return this.inner.read(offset, length, signal);
  }
}

const tokens = Array.from({ length: 60_000 }, (_, i) => `tok_${i}_${"é".repeat(i % 5)}`);
const BYTES = writeGGUF({
  metadata: {
    "general.architecture": meta.str("llama"),
    "tokenizer.ggml.tokens": meta.strArray(tokens),
    "tokenizer.ggml.scores": meta.f32Array(tokens.map((_, i) => -i)),
    "x.u64s": meta.array(GGUFValueType.UINT64, [1n, 2n ** 63n]),
    "x.nested": meta.array(GGUFValueType.ARRAY, [meta.i32Array([-1, 2]), meta.strArray(["z"])]),
  },
  tensors: [{ name: "w", dims: [64], type: GGMLType.Q8_0, data: new Uint8Array(68) }],
});

describe("parseGGUFHeader chunking", () => {
  it("reads a multi-megabyte header in 1 MiB chunks", async () => {
    const source = new CountingSource(new MemorySource("big.gguf", BYTES));
    const header = await parseGGUFHeader(source);

    expect(header.tensorDataOffset).toBeGreaterThan(1 << 20);
    expect(source.reads.length).toBe(Math.ceil(header.tensorDataOffset / (1 << 20)));
    expect(source.reads.every(([, length]) => length <= 1 << 20)).toBe(true);
    expect(header.metadata.get("tokenizer.ggml.tokens")?.value).toEqual(tokens);
  });

  it("gives the same result for any chunk size", async () => {
    const reference = await parseGGUFHeader(new MemorySource("big.gguf", BYTES));
    for (const chunkSize of [97, 4099, 65536]) {
      const header = await parseGGUFHeader(new MemorySource("big.gguf", BYTES), undefined, chunkSize);
      expect(header, `chunk ${chunkSize}`).toEqual(reference);
    }
  });

  it("crosses chunk boundaries inside every value", async () => {
    const bytes = writeGGUF({
      metadata: {
        "a.u64": meta.u64(2n ** 60n),
        "a.f64": meta.f64(-2.5),
        "a.str": meta.str("chunk boundary ✓"),
        "a.arr": meta.array(GGUFValueType.INT64, [-(2n ** 62n), 7n]),
      },
      tensors: [{ name: "t", dims: [2, 3], type: GGMLType.F16, data: new Uint8Array(12) }],
    });
    const reference = await parseGGUFHeader(new MemorySource("small.gguf", bytes));
    for (let chunkSize = 1; chunkSize <= 17; chunkSize++) {
      expect(await parseGGUFHeader(new MemorySource("small.gguf", bytes), undefined, chunkSize), `chunk ${chunkSize}`).toEqual(reference);
    }
  });
});
