import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { gguf } from "@huggingface/gguf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { GGUFFile } from "../../src/gguf/reader.js";
import { GGMLType, GGUFValueType, type GGUFMetadataValue } from "../../src/gguf/types.js";
import { openFileSource } from "../../src/io/node-file.js";
import type { ByteSource } from "../../src/io/source.js";

const MODEL = fileURLToPath(new URL("../../../shared/models/llama-2-tiny-random/llama-2-tiny-random.gguf", import.meta.url));
const present = existsSync(MODEL);
if (!present) console.warn(`skipping real-file GGUF tests: ${MODEL} is absent`);

/**
 * Converts our metadata value to the shape @huggingface/gguf returns: scalars bare, arrays as plain
 * arrays. @huggingface/gguf 0.4.6 decodes strings with a default TextDecoder, which drops a leading
 * byte order mark, so its vocabulary token "\uFEFF" reads as "". This strips the mark to match.
 */
function plain(entry: GGUFMetadataValue): unknown {
  const dropBOM = (value: unknown) => (typeof value === "string" && value.startsWith("\uFEFF") ? value.slice(1) : value);
  if (entry.type !== GGUFValueType.ARRAY) return dropBOM(entry.value);
  if (entry.elementType === GGUFValueType.ARRAY) return (entry.value as GGUFMetadataValue[]).map(plain);
  return (entry.value as unknown[]).map(dropBOM);
}

describe.skipIf(!present)("llama-2-tiny-random.gguf", () => {
  let source: ByteSource;
  let file: GGUFFile;

  beforeAll(async () => {
    source = await openFileSource(MODEL);
    file = await GGUFFile.open(source);
  });

  afterAll(async () => {
    await source?.close?.();
  });

  it("has the expected header", () => {
    expect(file.version).toBe(3);
    expect(file.architecture).toBe("llama");
    expect(file.alignment).toBe(32);
    expect(file.getStringArray("tokenizer.ggml.tokens").length).toBe(32000);
    expect(file.getNumberArray("tokenizer.ggml.scores").length).toBe(32000);
    expect(file.getString("tokenizer.ggml.model")).toBe("llama");
  });

  it("keeps a byte order mark token intact", () => {
    const tokens = file.getStringArray("tokenizer.ggml.tokens");
    expect(tokens.filter((token) => token === "\uFEFF").length).toBe(1);
    expect(tokens.filter((token) => token === "").length).toBe(0);
  });

  it("lists the llama tensors", () => {
    const names = file.tensors.map((t) => t.name);
    expect(names).toContain("token_embd.weight");
    expect(names).toContain("output_norm.weight");
    expect(names).toContain("blk.0.attn_q.weight");
    expect(names).toContain("blk.0.ffn_down.weight");

    const embedding = file.tensor("token_embd.weight");
    expect(embedding.dims[1]).toBe(32000);
    expect(embedding.dims[0]).toBe(file.getNumber("llama.embedding_length"));
    expect(file.tensorDataOffset + Math.max(...file.tensors.map((t) => t.offset + t.byteLength))).toBeLessThanOrEqual(file.size);
  });

  it("matches @huggingface/gguf", async () => {
    const reference = await gguf(MODEL, { allowLocalFile: true, typedMetadata: true });

    expect(BigInt(file.tensorDataOffset)).toBe(reference.tensorDataOffset);
    expect(reference.metadata.version).toBe(file.version);
    expect(reference.metadata.tensor_count).toBe(BigInt(file.tensors.length));
    expect(reference.metadata.kv_count).toBe(BigInt(file.metadata.size));

    for (const [key, entry] of file.metadata) {
      const theirs = reference.typedMetadata[key as keyof typeof reference.typedMetadata] as { value: unknown; type: number; subType?: number };
      expect(theirs, key).toBeDefined();
      expect(theirs.type, key).toBe(entry.type);
      if (entry.type === GGUFValueType.ARRAY) expect(theirs.subType, key).toBe(entry.elementType);
      expect(theirs.value, key).toEqual(plain(entry));
    }

    expect(reference.tensorInfos.length).toBe(file.tensors.length);
    reference.tensorInfos.forEach((theirs, index) => {
      const ours = file.tensors[index]!;
      expect(ours.name).toBe(theirs.name);
      expect(ours.dims.map(BigInt)).toEqual(theirs.shape);
      expect(ours.type as number).toBe(theirs.dtype as number);
      expect(BigInt(ours.offset)).toBe(theirs.offset);
    });
  });

  it("reads tensor data from the file", async () => {
    const norm = file.tensor("output_norm.weight");
    const values = await file.readTensorF32(norm);
    expect(values.length).toBe(norm.elementCount);
    expect(values.every(Number.isFinite)).toBe(true);

    const bytes = await file.readTensorBytes("blk.0.attn_q.weight");
    expect(bytes.length).toBe(file.tensor("blk.0.attn_q.weight").byteLength);
    expect([GGMLType.F32, GGMLType.F16]).toContain(file.tensor("blk.0.attn_q.weight").type);
  });
});
