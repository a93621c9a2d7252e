import { describe, expect, it } from "vitest";

import { InvalidInputError } from "../../src/errors.js";
import { meta } from "../../src/gguf/metadata.js";
import { GGMLType, GGUFValueType, type GGUFMetadataValue } from "../../src/gguf/types.js";
import { writeGGUF, type GGUFWriteTensor } from "../../src/gguf/writer.js";
import { expectThrows, openBytes } from "./helpers.js";

/** One entry per value type, with values at the edges of each range. */
const EVERY_TYPE: Record<string, GGUFMetadataValue> = {
  "t.u8": meta.u8(255),
  "t.i8": meta.i8(-128),
  "t.u16": meta.u16(65535),
  "t.i16": meta.i16(-32768),
  "t.u32": meta.u32(0xffffffff),
  "t.i32": meta.i32(-0x80000000),
  "t.f32": meta.f32(1.5),
  "t.f64": meta.f64(Math.PI),
  "t.u64": meta.u64((1n << 64n) - 1n),
  "t.i64": meta.i64(-(1n << 63n)),
  "t.bool.true": meta.bool(true),
  "t.bool.false": meta.bool(false),
  "t.str": meta.str("héllo ✓ 🦙"),
  "t.str.empty": meta.str(""),
  "t.str.bom": meta.str("\uFEFFstarts with a byte order mark"),
  "t.arr.str": meta.strArray(["<s>", "", "▁the"]),
  "t.arr.f32": meta.f32Array([0, -1.25, 3e38]),
  "t.arr.i32": meta.i32Array([-1, 0, 2147483647]),
  "t.arr.u32": meta.u32Array([0, 4294967295]),
  "t.arr.bool": meta.boolArray([true, false, true]),
  "t.arr.u8": meta.array(GGUFValueType.UINT8, [0, 7, 255]),
  "t.arr.i8": meta.array(GGUFValueType.INT8, [-128, 127]),
  "t.arr.u16": meta.array(GGUFValueType.UINT16, [65535]),
  "t.arr.i16": meta.array(GGUFValueType.INT16, [-32768]),
  "t.arr.f64": meta.array(GGUFValueType.FLOAT64, [Number.MIN_VALUE, -0.1]),
  "t.arr.u64": meta.array(GGUFValueType.UINT64, [0n, (1n << 64n) - 1n]),
  "t.arr.i64": meta.array(GGUFValueType.INT64, [-5n, 5n]),
  "t.arr.empty": meta.array(GGUFValueType.UINT32, []),
  "t.arr.nested": meta.array(GGUFValueType.ARRAY, [
    meta.u32Array([1, 2]),
    meta.strArray(["a"]),
    meta.array(GGUFValueType.ARRAY, [meta.boolArray([true]), meta.array(GGUFValueType.INT64, [])]),
  ]),
};

function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

function sampleTensors(): GGUFWriteTensor[] {
  return [
    { name: "a.weight", dims: [3, 2], type: GGMLType.F32, data: f32Bytes([1, 2, 3, 4, 5, 6]) },
    { name: "b.weight", dims: [32, 1, 2], type: GGMLType.Q8_0, data: new Uint8Array(68).map((_, i) => i) },
    // F16 1.0 is 0x3c00 and -2.0 is 0xc000, stored little-endian.
    { name: "c.bias", dims: [5], type: GGMLType.F16, data: Uint8Array.from([0, 0x3c, 0, 0xc0, 0, 0x3c, 0, 0xc0, 0, 0x3c]) },
    { name: "d.q2k", dims: [256, 1, 1, 1], type: GGMLType.Q2_K, data: new Uint8Array(84).fill(9) },
  ];
}

describe("writeGGUF then GGUFFile.open", () => {
  for (const version of [2, 3] as const) {
    it(`round-trips every value type, version ${version}`, async () => {
      const file = await openBytes(writeGGUF({ version, metadata: EVERY_TYPE, tensors: [] }));

      expect(file.version).toBe(version);
      expect(file.alignment).toBe(32);
      expect(file.tensors).toEqual([]);
      expect([...file.metadata.keys()]).toEqual(Object.keys(EVERY_TYPE));
      for (const [key, value] of Object.entries(EVERY_TYPE)) {
        const actual = file.metadata.get(key);
        if (value.type === GGUFValueType.FLOAT32) expect(actual).toEqual({ type: value.type, value: Math.fround(value.value as number) });
        else if (key === "t.arr.f32") expect(actual).toEqual(meta.f32Array(new Float32Array(value.value as number[])));
        else expect(actual, key).toEqual(value);
      }
    });
  }

  it("round-trips tensor infos and data", async () => {
    const tensors = sampleTensors();
    const bytes = writeGGUF({ metadata: [["general.architecture", meta.str("llama")]], tensors });
    const file = await openBytes(bytes);

    expect(file.architecture).toBe("llama");
    expect(file.size).toBe(bytes.length);
    expect(file.tensorDataOffset % 32).toBe(0);
    expect(file.tensors.map((t) => t.name)).toEqual(tensors.map((t) => t.name));
    expect(file.tensor("b.weight")).toEqual({ name: "b.weight", dims: [32, 1, 2], type: GGMLType.Q8_0, offset: 32, elementCount: 64, byteLength: 68 });
    expect(file.tensor("c.bias").offset).toBe(128);
    expect(file.tensor("d.q2k").offset).toBe(160);

    for (const tensor of tensors.slice(0, 3)) expect(await file.readTensorBytes(tensor.name)).toEqual(tensor.data);
    expect(Array.from(await file.readTensorF32("a.weight"))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(await file.readTensorF32("c.bias"))).toEqual([1, -2, 1, -2, 1]);
  });

  it("honours a custom alignment", async () => {
    const bytes = writeGGUF({ alignment: 256, metadata: {}, tensors: sampleTensors() });
    const file = await openBytes(bytes);

    expect(file.alignment).toBe(256);
    expect(file.metadata.get("general.alignment")).toEqual(meta.u32(256));
    expect(file.tensorDataOffset % 256).toBe(0);
    expect(file.tensors.map((t) => t.offset)).toEqual([0, 256, 512, 768]);
    expect(bytes.length).toBe(file.tensorDataOffset + 1024);
    expect(await file.readTensorBytes("c.bias")).toEqual(sampleTensors()[2]!.data);
  });

  it("takes the alignment from metadata", async () => {
    const file = await openBytes(writeGGUF({ metadata: { "general.alignment": meta.u32(8) }, tensors: sampleTensors() }));
    expect(file.alignment).toBe(8);
    expect(file.tensors.map((t) => t.offset)).toEqual([0, 24, 96, 112]);
  });

  it("writes an empty file", async () => {
    const file = await openBytes(writeGGUF({ metadata: {}, tensors: [] }));
    expect(file.metadata.size).toBe(0);
    expect(file.tensors.length).toBe(0);
  });
});

describe("GGUFFile getters", () => {
  const bytesPromise = openBytes(
    writeGGUF({
      metadata: {
        "general.architecture": meta.str("qwen2"),
        "n.u32": meta.u32(7),
        "n.f32": meta.f32(0.5),
        "n.u64": meta.u64(1n << 40n),
        "n.big": meta.u64(1n << 60n),
        "b.flag": meta.bool(true),
        "a.str": meta.strArray(["x", "y"]),
        "a.i64": meta.array(GGUFValueType.INT64, [-3n, 4n]),
        "a.bigs": meta.array(GGUFValueType.UINT64, [1n, 1n << 60n]),
        "a.f32": meta.f32Array([0.25]),
      },
      tensors: [],
    }),
  );

  it("converts numbers of any width", async () => {
    const file = await bytesPromise;
    expect(file.getNumber("n.u32")).toBe(7);
    expect(file.getNumber("n.f32")).toBe(0.5);
    expect(file.getNumber("n.u64")).toBe(2 ** 40);
    expect(file.getNumberArray("a.i64")).toEqual([-3, 4]);
    expect(file.getNumberArray("a.f32")).toEqual([0.25]);
  });

  it("returns strings, bools and arrays", async () => {
    const file = await bytesPromise;
    expect(file.architecture).toBe("qwen2");
    expect(file.getBool("b.flag")).toBe(true);
    expect(file.getStringArray("a.str")).toEqual(["x", "y"]);
  });

  it("optional getters return undefined when absent", async () => {
    const file = await bytesPromise;
    expect(file.getOptionalString("missing")).toBeUndefined();
    expect(file.getOptionalNumber("missing")).toBeUndefined();
    expect(file.getOptionalBool("missing")).toBeUndefined();
    expect(file.getOptionalStringArray("missing")).toBeUndefined();
    expect(file.getOptionalNumberArray("missing")).toBeUndefined();
    expect(file.getOptionalNumber("n.u32")).toBe(7);
  });

  it("rejects missing keys and wrong types", async () => {
    const file = await bytesPromise;
    expectThrows(() => file.getString("missing.key"), Error, "GGUF_INVALID", ['metadata["missing.key"]', "missing"]);
    expectThrows(() => file.getNumber("general.architecture"), Error, "GGUF_INVALID", ['metadata["general.architecture"]', "STRING"]);
    expectThrows(() => file.getOptionalString("n.u32"), Error, "GGUF_INVALID", ['metadata["n.u32"]', "UINT32"]);
    expectThrows(() => file.getBool("n.u32"), Error, "GGUF_INVALID", ["UINT32"]);
    expectThrows(() => file.getStringArray("a.f32"), Error, "GGUF_INVALID", ["ARRAY of FLOAT32"]);
    expectThrows(() => file.getNumberArray("a.str"), Error, "GGUF_INVALID", ["ARRAY of STRING"]);
  });

  it("rejects 64-bit values beyond 2^53", async () => {
    const file = await bytesPromise;
    expectThrows(() => file.getNumber("n.big"), Error, "GGUF_INVALID", ['metadata["n.big"]', String(1n << 60n)]);
    expectThrows(() => file.getNumberArray("a.bigs"), Error, "GGUF_INVALID", ['metadata["a.bigs"][1]', String(1n << 60n)]);
  });

  it("throws TensorNotFoundError for unknown tensors", async () => {
    const file = await bytesPromise;
    expect(file.hasTensor("output.weight")).toBe(false);
    expectThrows(() => file.tensor("output.weight"), Error, "TENSOR_NOT_FOUND", ["output.weight", "test.gguf"]);
  });
});

describe("writeGGUF validation", () => {
  const tensor = (overrides: Partial<GGUFWriteTensor>): GGUFWriteTensor => ({ name: "t", dims: [4], type: GGMLType.F32, data: new Uint8Array(16), ...overrides });

  const cases: [string, () => unknown, string[]][] = [
    ["u8 out of range", () => writeGGUF({ metadata: { k: meta.u8(256) }, tensors: [] }), ['metadata["k"]', "256"]],
    ["i32 not an integer", () => writeGGUF({ metadata: { k: meta.i32(1.5) }, tensors: [] }), ['metadata["k"]', "1.5"]],
    ["u64 negative", () => writeGGUF({ metadata: { k: meta.u64(-1n) }, tensors: [] }), ['metadata["k"]', "-1"]],
    ["array element wrong type", () => writeGGUF({ metadata: { k: meta.array(GGUFValueType.STRING, [1] as never) }, tensors: [] }), ['metadata["k"][0]']],
    ["duplicate key", () => writeGGUF({ metadata: [["k", meta.u8(1)], ["k", meta.u8(2)]], tensors: [] }), ['metadata["k"]', "duplicate"]],
    ["alignment not a power of two", () => writeGGUF({ alignment: 48, metadata: {}, tensors: [] }), ["alignment", "48"]],
    ["alignment conflict", () => writeGGUF({ alignment: 64, metadata: { "general.alignment": meta.u32(32) }, tensors: [] }), ["64", "32"]],
    ["data length mismatch", () => writeGGUF({ metadata: {}, tensors: [tensor({ data: new Uint8Array(15) })] }), ["tensor[0].data", "16", "15"]],
    ["dims[0] not whole blocks", () => writeGGUF({ metadata: {}, tensors: [tensor({ type: GGMLType.Q8_0, dims: [16], data: new Uint8Array(17) })] }), ["tensor[0].dims", "16", "32"]],
    ["five dims", () => writeGGUF({ metadata: {}, tensors: [tensor({ dims: [1, 1, 1, 1, 4] })] }), ["tensor[0].dims", "1 to 4"]],
    ["zero dim", () => writeGGUF({ metadata: {}, tensors: [tensor({ dims: [4, 0], data: new Uint8Array(0) })] }), ["tensor[0].dims", "0"]],
    ["duplicate tensor", () => writeGGUF({ metadata: {}, tensors: [tensor({}), tensor({})] }), ["tensor[1].name", '"t"']],
    ["unknown tensor type", () => writeGGUF({ metadata: {}, tensors: [tensor({ type: 99 as GGMLType })] }), ["tensor[0].type", "type 99"]],
  ];

  for (const [name, run, fragments] of cases) {
    it(`rejects ${name}`, () => {
      expectThrows(run, InvalidInputError, "INVALID_INPUT", fragments);
    });
  }
});
