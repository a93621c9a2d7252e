import { describe, expect, it } from "vitest";

import { AbortError, GGUFFormatError, GGUFUnsupportedError } from "../../src/errors.js";
import { meta } from "../../src/gguf/metadata.js";
import { GGUFFile } from "../../src/gguf/reader.js";
import { GGMLType, GGUFValueType } from "../../src/gguf/types.js";
import { writeGGUF } from "../../src/gguf/writer.js";
import { MemorySource } from "../../src/io/memory.js";
import { RawBytes, expectRejects, openBytes } from "./helpers.js";

const FILE = "bad.gguf";
const T = GGUFValueType;

/** Starts a v3 file with no tensors and one metadata entry, keyed "k", whose value the caller appends. */
function oneEntry(): RawBytes {
  return new RawBytes().header(3, 0, 1).str("k");
}

/** Starts a v3 file with no metadata and one tensor info; the caller appends padding and data. */
function oneTensor(dims: (number | bigint)[], type: number, offset: bigint | number = 0, name = "blk.0.attn_q.weight"): RawBytes {
  return new RawBytes().header(3, 1, 0).tensorInfo(name, dims, type, offset);
}

function nestedArrays(depth: number): RawBytes {
  const raw = oneEntry().u32(T.ARRAY);
  for (let level = 0; level < depth - 1; level++) raw.u32(T.ARRAY).u64(1);
  return raw.u32(T.UINT8).u64(0);
}

type Case = [name: string, bytes: Uint8Array, fragments: string[]];

const FORMAT_CASES: Case[] = [
  ["empty file", new Uint8Array(0), ["magic", "truncated"]],
  ["wrong magic", new RawBytes().raw(new TextEncoder().encode("GGML")).u32(3).u64(0).u64(0).finish(), ["magic", "0x4c4d4747"]],
  ["truncated counts", new RawBytes().u32(0x46554747).u32(3).u32(0).finish(), ["header.tensorCount", "truncated"]],
  ["tensor count 2^60", new RawBytes().header(3, 1n << 60n, 0).finish(), ["header.tensorCount", "1152921504606846976"]],
  ["metadata count 2^64-1", new RawBytes().header(3, 0, (1n << 64n) - 1n).finish(), ["header.metadataCount", "18446744073709551615"]],
  ["key length 2^62", new RawBytes().header(3, 0, 1).u64(1n << 62n).zeros(16).finish(), ["metadata[0].key.length", "4611686018427387904"]],
  ["string length past end", oneEntry().u32(T.STRING).u64(1e12).zeros(4).finish(), ['metadata["k"].length', "1000000000000"]],
  [
    "array count 2^40",
    new RawBytes().header(3, 0, 1).str("tokenizer.ggml.tokens").u32(T.ARRAY).u32(T.STRING).u64(1n << 40n).zeros(64).finish(),
    ['metadata["tokenizer.ggml.tokens"].count', "1099511627776"],
  ],
  ["u64 array count past end", oneEntry().u32(T.ARRAY).u32(T.UINT64).u64(3).zeros(20).finish(), ['metadata["k"].count', "3"]],
  ["invalid UTF-8 key", new RawBytes().header(3, 0, 1).str(Uint8Array.from([0x6b, 0xff, 0xfe])).u32(T.UINT8).u8(0).finish(), ["metadata[0].key", "UTF-8"]],
  [
    "invalid UTF-8 token",
    (() => {
      const raw = new RawBytes().header(3, 0, 1).str("tokenizer.ggml.tokens").u32(T.ARRAY).u32(T.STRING).u64(6);
      for (let i = 0; i < 5; i++) raw.str(`t${i}`);
      return raw.str(Uint8Array.from([0xc3, 0x28])).finish();
    })(),
    ['metadata["tokenizer.ggml.tokens"][5]', "UTF-8"],
  ],
  ["unknown value type", oneEntry().u32(13).zeros(8).finish(), ['metadata["k"].type', "13"]],
  ["unknown element type", oneEntry().u32(T.ARRAY).u32(42).u64(0).finish(), ['metadata["k"].elementType', "42"]],
  ["bool value 2", oneEntry().u32(T.BOOL).u8(2).finish(), ['metadata["k"]', "BOOL value 2"]],
  ["duplicate key", new RawBytes().header(3, 0, 2).str("k").u32(T.UINT8).u8(1).str("k").u32(T.UINT8).u8(2).finish(), ['metadata["k"]', "duplicate"]],
  ["truncated value", oneEntry().u32(T.UINT64).zeros(5).finish(), ['metadata["k"]', "truncated"]],
  ["alignment 48", new RawBytes().header(3, 0, 1).str("general.alignment").u32(T.UINT32).u32(48).finish(), ['metadata["general.alignment"]', "48"]],
  ["alignment 0", new RawBytes().header(3, 0, 1).str("general.alignment").u32(T.UINT32).u32(0).finish(), ['metadata["general.alignment"]', "alignment 0"]],
  ["alignment string", new RawBytes().header(3, 0, 1).str("general.alignment").u32(T.STRING).str("32").finish(), ['metadata["general.alignment"]', "STRING"]],
  ["zero dims", oneTensor([], GGMLType.F32).zeros(64).finish(), ["tensor[0].dims", "0 dimensions"]],
  ["five dims", oneTensor([1, 1, 1, 1, 1], GGMLType.F32).zeros(64).finish(), ["tensor[0].dims", "5 dimensions"]],
  ["dimension 0", oneTensor([4, 0], GGMLType.F32).zeros(64).finish(), ["tensor[0].dims[1]", "dimension 0"]],
  ["dimension 2^64-1", oneTensor([(1n << 64n) - 1n], GGMLType.F32).zeros(64).finish(), ["tensor[0].dims[0]", "18446744073709551615"]],
  ["element count past 2^53", oneTensor([1 << 30, 1 << 30, 1 << 30], GGMLType.F32).zeros(64).finish(), ["tensor[0].dims", "[1073741824,1073741824,1073741824]"]],
  ["partial block", oneTensor([16], GGMLType.Q8_0).pad(32).zeros(64).finish(), ["tensor[0].dims", "dims[0] = 16", "block size 32"]],
  ["unaligned offset", oneTensor([4], GGMLType.F32, 4).pad(32).zeros(64).finish(), ["tensor[0].offset", "offset 4", "alignment 32"]],
  ["data past EOF", oneTensor([8], GGMLType.F32).pad(32).zeros(31).finish(), ["tensor[0].offset", "blk.0.attn_q.weight", "past the end"]],
  ["offset 2^63", oneTensor([8], GGMLType.F32, 1n << 63n).pad(32).finish(), ["tensor[0].offset", "9223372036854775808"]],
  ["truncated tensor info", oneTensor([8, 8], GGMLType.F32).finish().subarray(0, 60), ["tensor[0]", "truncated"]],
  [
    "duplicate tensor name",
    new RawBytes().header(3, 2, 0).tensorInfo("w", [4], GGMLType.F32, 0).tensorInfo("w", [4], GGMLType.F32, 32).pad(32).zeros(64).finish(),
    ["tensor[1].name", '"w"'],
  ],
  [
    "overlapping tensors",
    new RawBytes().header(3, 2, 0).tensorInfo("a", [16], GGMLType.F32, 0).tensorInfo("b", [4], GGMLType.F32, 32).pad(32).zeros(64).finish(),
    ["tensor[1].offset", "tensor b", "overlaps tensor a"],
  ],
];

const UNSUPPORTED_CASES: Case[] = [
  ["version 1", new RawBytes().header(1, 0, 0).finish(), ["version", "GGUF version 1 "]],
  ["version 7", new RawBytes().header(7, 0, 0).finish(), ["version", "GGUF version 7 "]],
  ["big-endian file", new RawBytes().u32(0x46554747).u32(0x03000000).u64(0).u64(0).finish(), ["version", "big-endian"]],
  ["unknown tensor type", oneTensor([4], 99).pad(32).zeros(64).finish(), ["tensor[0].type", "blk.0.attn_q.weight", "type 99"]],
  ["nested arrays 9 deep", nestedArrays(9).finish(), ['metadata["k"][0][0][0][0][0][0][0]', "nested"]],
  ["array of 2^25 elements", oneEntry().u32(T.ARRAY).u32(T.UINT8).u64(1 << 25).zeros(1 << 25).finish(), ['metadata["k"].count', "longer than 16777216"]],
];

describe("GGUFFile.open on malformed files", () => {
  for (const [name, bytes, fragments] of FORMAT_CASES) {
    it(`rejects ${name}`, async () => {
      const error = await expectRejects(openBytes(bytes, FILE), GGUFFormatError, "GGUF_INVALID", [FILE, ...fragments]);
      expect(error.file).toBe(FILE);
    });
  }

  for (const [name, bytes, fragments] of UNSUPPORTED_CASES) {
    it(`rejects ${name} as unsupported`, async () => {
      await expectRejects(openBytes(bytes, FILE), GGUFUnsupportedError, "GGUF_UNSUPPORTED", [FILE, ...fragments]);
    });
  }

  it("accepts nested arrays 8 deep", async () => {
    const file = await openBytes(nestedArrays(8).finish(), FILE);
    expect(file.metadata.get("k")?.type).toBe(GGUFValueType.ARRAY);
  });

  it("stores field and value on the error", async () => {
    const error = await expectRejects(openBytes(new RawBytes().header(3, 1n << 60n, 0).finish(), FILE), GGUFFormatError, "GGUF_INVALID", []);
    expect(error.field).toBe("header.tensorCount");
    expect(error.value).toBe(1n << 60n);
  });

  it("rejects every truncation of a valid file", async () => {
    const bytes = writeGGUF({
      metadata: { "general.architecture": meta.str("llama"), "t.tokens": meta.strArray(["a", "bc"]), "t.f": meta.f32Array([1, 2]) },
      tensors: [
        { name: "x", dims: [2], type: GGMLType.F32, data: new Uint8Array(8) },
        { name: "y", dims: [3], type: GGMLType.F16, data: new Uint8Array(6) },
      ],
    });
    const complete = await openBytes(bytes);
    const last = complete.tensors[1]!;
    const dataEnd = complete.tensorDataOffset + last.offset + last.byteLength;

    for (let length = 0; length < bytes.length; length++) {
      const result = openBytes(bytes.subarray(0, length), FILE);
      if (length < dataEnd) await expectRejects(result, GGUFFormatError, "GGUF_INVALID", [FILE]);
      else await expect(result).resolves.toBeInstanceOf(GGUFFile);
    }
  });

  it("rejects an aborted signal", async () => {
    const bytes = writeGGUF({ metadata: {}, tensors: [] });
    const controller = new AbortController();
    controller.abort();
    await expectRejects(GGUFFile.open(new MemorySource(FILE, bytes), { signal: controller.signal }), AbortError, "ABORTED", []);
  });
});

describe("tensor types without a dequantizer", () => {
  const bytes = writeGGUF({
    metadata: {},
    tensors: [
      { name: "blk.0.attn_q.weight", dims: [256, 2], type: GGMLType.Q2_K, data: new Uint8Array(168) },
      { name: "blk.0.attn_k.weight", dims: [32], type: GGMLType.Q5_0, data: new Uint8Array(22) },
    ],
  });

  it("parses their infos", async () => {
    const file = await openBytes(bytes, FILE);
    expect(file.tensor("blk.0.attn_q.weight")).toMatchObject({ type: GGMLType.Q2_K, elementCount: 512, byteLength: 168 });
    expect(file.tensor("blk.0.attn_k.weight")).toMatchObject({ type: GGMLType.Q5_0, elementCount: 32, byteLength: 22 });
  });

  it("rejects reading them", async () => {
    const file = await openBytes(bytes, FILE);
    const fragments = [FILE, "Q2_K tensor blk.0.attn_q.weight is not supported; supported: F32, F16"];
    await expectRejects(file.readTensorBytes("blk.0.attn_q.weight"), GGUFUnsupportedError, "GGUF_UNSUPPORTED", fragments);
    await expectRejects(file.readTensorF32("blk.0.attn_q.weight"), GGUFUnsupportedError, "GGUF_UNSUPPORTED", fragments);
    await expectRejects(file.readTensorF32("blk.0.attn_k.weight"), GGUFUnsupportedError, "GGUF_UNSUPPORTED", ["Q5_0 tensor blk.0.attn_k.weight"]);
  });
});
