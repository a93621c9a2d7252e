import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { ggufLoraAdapterInput, peftAdapterFiles, randomLora, randomLoraAdapter, type RandomLora } from "../../src/adapters/fixtures.js";
import { readGGUFLoraAdapter } from "../../src/adapters/gguf-lora.js";
import { loadMetricAdapter } from "../../src/adapters/load.js";
import type { LoraAdapter } from "../../src/adapters/lora.js";
import { parsePeftConfig, readPeftAdapter } from "../../src/adapters/peft.js";
import { parseSafetensors, writeSafetensors } from "../../src/adapters/safetensors.js";
import { sha256Hex, verifySha256 } from "../../src/adapters/sha256.js";
import { validateAdapterForModel } from "../../src/adapters/validate.js";
import { AdapterFormatError, AdapterMismatchError, AdapterWeightsError, IntegrityError } from "../../src/errors.js";
import { meta } from "../../src/gguf/metadata.js";
import { GGUFFile } from "../../src/gguf/reader.js";
import { GGMLType } from "../../src/gguf/types.js";
import { writeGGUF } from "../../src/gguf/writer.js";
import { MemorySource } from "../../src/io/memory.js";
import { smallConfig } from "../reference/helpers.js";

const config = smallConfig({ embeddingLength: 32, headCount: 4, headCountKV: 2, headDim: 8, ropeDimensionCount: 8, feedForwardLength: 48 });
const lora = randomLora(config, { seed: "formats", rank: 4, alpha: 8 });

function expectSameAdapter(actual: LoraAdapter, expected: LoraAdapter, tolerance = 0): void {
  expect([...actual.matrices.keys()].sort()).toEqual([...expected.matrices.keys()].sort());
  for (const [name, matrix] of expected.matrices) {
    const other = actual.matrices.get(name)!;
    expect({ rank: other.rank, in: other.inFeatures, out: other.outFeatures }).toEqual({ rank: matrix.rank, in: matrix.inFeatures, out: matrix.outFeatures });
    expect(other.scale).toBeCloseTo(matrix.scale, 6);
    const maxError = (x: Float32Array, y: Float32Array) => x.reduce((max, value, i) => Math.max(max, Math.abs(value - y[i]!)), 0);
    expect(maxError(other.a, matrix.a), `${name} A`).toBeLessThanOrEqual(tolerance);
    expect(maxError(other.b, matrix.b), `${name} B`).toBeLessThanOrEqual(tolerance);
  }
}

async function ggufAdapter(input = ggufLoraAdapterInput(lora, "llama")): Promise<LoraAdapter> {
  return readGGUFLoraAdapter(await GGUFFile.open(new MemorySource("adapter.gguf", writeGGUF(input))));
}

/** Builds a safetensors file with a hand-written header, for hostile-header cases. */
function rawSafetensors(header: string, dataBytes: number, declaredLength?: bigint): Uint8Array {
  const json = new TextEncoder().encode(header);
  const bytes = new Uint8Array(8 + json.length + dataBytes);
  new DataView(bytes.buffer).setBigUint64(0, declaredLength ?? BigInt(json.length), true);
  bytes.set(json, 8);
  return bytes;
}

describe("safetensors", () => {
  it.each(["F32", "F16", "BF16"] as const)("round-trips %s", (dtype) => {
    const data = Float32Array.from([0, 1, -2.5, 0.333, 1000, -0.0001]);
    const parsed = parseSafetensors(writeSafetensors([{ name: "t", dtype, shape: [2, 3], data }], { format: "pt" }), "t.safetensors");
    const tensor = parsed.get("t")!;
    expect(tensor.shape).toEqual([2, 3]);
    expect(tensor.dtype).toBe(dtype);
    // F16 keeps 11 significant bits and BF16 8, so 1000 rounds by up to 0.5 and 4.
    const tolerances = { F32: 0, F16: 0.5, BF16: 4 };
    const tolerance = tolerances[dtype];
    data.forEach((value, i) => expect(Math.abs(tensor.data[i]! - value)).toBeLessThanOrEqual(tolerance));
  });

  it.each([
    ["a file shorter than 8 bytes", new Uint8Array(4), "header length"],
    ["a header past the end", rawSafetensors("{}", 0, 1000n), "header length"],
    ["a 2^63 header length", rawSafetensors("{}", 0, 1n << 63n), "header length"],
    ["a non-JSON header", rawSafetensors("{not json", 0), "header"],
    ["an array header", rawSafetensors("[]", 0), "header"],
    ["an unsupported dtype", rawSafetensors('{"t":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}', 8), '"t".dtype'],
    ["a negative shape", rawSafetensors('{"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}', 4), '"t".shape'],
    ["offsets past the data", rawSafetensors('{"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}', 8), '"t".data_offsets'],
    ["offsets that disagree with the shape", rawSafetensors('{"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', 8), '"t".data_offsets'],
    ["a shape product overflow", rawSafetensors('{"t":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}', 8), '"t".data_offsets'],
    ["overlapping tensors", rawSafetensors('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}', 12), '"b".data_offsets'],
  ])("rejects %s", (_, bytes, field) => {
    try {
      parseSafetensors(bytes, "bad.safetensors");
      expect.unreachable("expected AdapterFormatError");
    } catch (error) {
      expect(error).toBeInstanceOf(AdapterFormatError);
      expect((error as AdapterFormatError).field).toBe(field);
    }
  });
});

describe("PEFT adapters", () => {
  it("read back the fixture weights", () => {
    const files = peftAdapterFiles(lora);
    const adapter = readPeftAdapter(files.config, files.safetensors, "peft-fixture");
    expectSameAdapter(adapter, randomLoraAdapter(lora, "expected"));
    expect(adapter.matrices.get("blk.1.ffn_down.weight")!.scale).toBe(2);
  });

  it("use alpha / sqrt(r) with rsLoRA", () => {
    const rslora: RandomLora = { ...lora, useRslora: true };
    const files = peftAdapterFiles(rslora);
    const adapter = readPeftAdapter(files.config, files.safetensors, "rslora");
    expect(adapter.matrices.get("blk.0.attn_q.weight")!.scale).toBeCloseTo(8 / 2, 12);
  });

  it("apply the caller's scale", () => {
    const files = peftAdapterFiles(lora);
    expect(readPeftAdapter(files.config, files.safetensors, "scaled", { scale: 0.5 }).matrices.get("blk.0.attn_k.weight")!.scale).toBe(1);
  });

  it("read F16 weights", () => {
    const files = peftAdapterFiles(lora, { dtype: "F16" });
    expectSameAdapter(readPeftAdapter(files.config, files.safetensors, "f16"), randomLoraAdapter(lora, "expected"), 2e-3);
  });

  it.each([
    ["peft_type", { peft_type: "IA3" }],
    ["r", { r: 0 }],
    ["use_dora", { use_dora: true }],
    ["fan_in_fan_out", { fan_in_fan_out: true }],
    ["bias", { bias: "all" }],
    ["rank_pattern", { rank_pattern: { q_proj: 8 } }],
    ["target_modules", { target_modules: ["q_proj", "lm_head"] }],
  ])("reject config field %s", (field, patch) => {
    const config = { ...JSON.parse(peftAdapterFiles(lora).config), ...patch };
    expect(() => parsePeftConfig(config, "adapter_config.json")).toThrow(expect.objectContaining({ field }));
  });

  it("reject an unexpected tensor key", () => {
    const files = writeSafetensors([{ name: "base_model.model.lm_head.lora_A.weight", dtype: "F32", shape: [1, 1], data: new Float32Array(1) }]);
    expect(() => readPeftAdapter(peftAdapterFiles(lora).config, files, "bad")).toThrow(AdapterFormatError);
  });

  it("reject a missing lora_B", () => {
    const files = writeSafetensors([{ name: "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", dtype: "F32", shape: [4, 32], data: new Float32Array(128) }]);
    expect(() => readPeftAdapter(peftAdapterFiles(lora).config, files, "half")).toThrow(/lora_B missing/);
  });
});

describe("GGUF adapters", () => {
  it("read back the fixture weights", async () => {
    const adapter = await ggufAdapter();
    expect(adapter.architecture).toBe("llama");
    expectSameAdapter(adapter, randomLoraAdapter(lora, "expected"));
  });

  it("store rsLoRA as a scaled alpha", async () => {
    const adapter = await ggufAdapter(ggufLoraAdapterInput({ ...lora, useRslora: true }, "llama"));
    expect(adapter.matrices.get("blk.0.attn_v.weight")!.scale).toBeCloseTo(4, 5);
  });

  it("reject a model file", async () => {
    const input = ggufLoraAdapterInput(lora, "llama");
    (input.metadata as Map<string, unknown>).set("general.type", meta.str("model"));
    await expect(ggufAdapter(input)).rejects.toThrow(expect.objectContaining({ field: "general.type" }));
  });

  it.each([NaN, Infinity])("reject an alpha of %s", async (alpha) => {
    const input = ggufLoraAdapterInput(lora, "llama");
    (input.metadata as Map<string, unknown>).set("adapter.lora.alpha", meta.f32(alpha));
    await expect(ggufAdapter(input)).rejects.toThrow(expect.objectContaining({ field: "adapter.lora.alpha" }));
    await expect(ggufAdapter(input)).rejects.toThrow(new RegExp(`${alpha} is invalid`));
  });

  it("reject a missing lora_b", async () => {
    const input = ggufLoraAdapterInput(lora, "llama");
    input.tensors = input.tensors.filter((tensor) => tensor.name !== "blk.0.attn_q.weight.lora_b");
    await expect(ggufAdapter(input)).rejects.toThrow(/lora_b missing/);
  });

  it("reject an untransposed lora_a", async () => {
    const input = ggufLoraAdapterInput(lora, "llama");
    const a = input.tensors.find((tensor) => tensor.name === "blk.0.attn_q.weight.lora_a")!;
    a.dims = [a.dims[1]!, a.dims[0]!];
    await expect(ggufAdapter(input)).rejects.toThrow(AdapterFormatError);
  });

  it("read F16 tensors", async () => {
    expectSameAdapter(await ggufAdapter(ggufLoraAdapterInput(lora, "llama", { type: GGMLType.F16 })), randomLoraAdapter(lora, "expected"), 2e-3);
  });
});

describe("validateAdapterForModel", () => {
  it("accepts a matching adapter", async () => {
    expect(() => validateAdapterForModel(randomLoraAdapter(lora, "ok", "llama"), config)).not.toThrow();
  });

  it("names the tensor and both shapes", () => {
    const wider = smallConfig({ ...config, feedForwardLength: 64 });
    try {
      validateAdapterForModel(randomLoraAdapter(lora, "narrow"), wider);
      expect.unreachable("expected AdapterMismatchError");
    } catch (error) {
      expect(error).toBeInstanceOf(AdapterMismatchError);
      const mismatch = error as AdapterMismatchError;
      expect(mismatch.tensor).toBe("blk.0.ffn_gate.weight.lora_b");
      expect(mismatch.expected).toBe("[64, 4]");
      expect(mismatch.actual).toBe("[48, 4]");
    }
  });

  it("rejects another architecture", () => {
    expect(() => validateAdapterForModel(randomLoraAdapter(lora, "qwen", "qwen2"), config)).toThrow(AdapterMismatchError);
  });

  it("rejects a block past the model", () => {
    const deep = randomLora(smallConfig({ ...config, layerCount: 3 }), { seed: 2, rank: 2, layers: [2] });
    expect(() => validateAdapterForModel(randomLoraAdapter(deep, "deep"), config)).toThrow(/block 2/);
  });

  it.each([NaN, Infinity, -Infinity])("rejects a weight of %s", (value) => {
    const adapter = randomLoraAdapter(randomLora(config, { seed: 3, rank: 2 }), "corrupt");
    adapter.matrices.get("blk.1.attn_v.weight")!.b[5] = value;
    try {
      validateAdapterForModel(adapter, config);
      expect.unreachable("expected AdapterWeightsError");
    } catch (error) {
      expect(error).toBeInstanceOf(AdapterWeightsError);
      expect((error as AdapterWeightsError).tensor).toBe("blk.1.attn_v.weight.lora_b");
      expect((error as AdapterWeightsError).index).toBe(5);
    }
  });
});

describe("sha256", () => {
  it("matches the FIPS 180-2 vector for abc", async () => {
    expect(await sha256Hex(new TextEncoder().encode("abc"))).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("rejects a mismatch with both digests", async () => {
    await expect(verifySha256(new Uint8Array([1]), "0".repeat(64), "x.gguf")).rejects.toBeInstanceOf(IntegrityError);
  });
});

describe("loadMetricAdapter", () => {
  const directory = mkdtempSync(join(tmpdir(), "tokenjudge-adapters-"));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  const ggufBytes = writeGGUF(ggufLoraAdapterInput(lora, "llama"));
  const ggufPath = join(directory, "adapter.gguf");
  writeFileSync(ggufPath, ggufBytes);
  const peftFolder = join(directory, "peft");
  mkdirSync(peftFolder);
  const peft = peftAdapterFiles(lora);
  writeFileSync(join(peftFolder, "adapter_config.json"), peft.config);
  writeFileSync(join(peftFolder, "adapter_model.safetensors"), peft.safetensors);

  it("loads a GGUF file after checking its digest", async () => {
    const adapter = await loadMetricAdapter({ file: ggufPath, sha256: await sha256Hex(ggufBytes), mode: "activated", format: "gguf" });
    expectSameAdapter(adapter, randomLoraAdapter(lora, "expected"));
  });

  it("loads a PEFT folder after checking its digest", async () => {
    const adapter = await loadMetricAdapter({ file: peftFolder, sha256: await sha256Hex(peft.safetensors), mode: "classic", format: "peft", scale: 2 });
    expect(adapter.matrices.get("blk.0.attn_q.weight")!.scale).toBe(4);
  });

  it("rejects a wrong digest", async () => {
    await expect(loadMetricAdapter({ file: ggufPath, sha256: "f".repeat(64), mode: "activated", format: "gguf" })).rejects.toBeInstanceOf(IntegrityError);
  });

  it("downloads a URL adapter through fetch", async () => {
    const requested: string[] = [];
    const fakeFetch = (async (url: string) => {
      requested.push(url);
      return new Response(url.endsWith(".json") ? peft.config : (peft.safetensors as Uint8Array<ArrayBuffer>));
    }) as unknown as typeof fetch;
    const adapter = await loadMetricAdapter({ url: "https://adapters.invalid/pii/", sha256: await sha256Hex(peft.safetensors), mode: "activated", format: "peft" }, { fetch: fakeFetch });
    expect(requested).toEqual(["https://adapters.invalid/pii/adapter_model.safetensors", "https://adapters.invalid/pii/adapter_config.json"]);
    expect(adapter.matrices.size).toBe(lora.pairs.length);
  });

  it("reports a failed download", async () => {
    const fakeFetch = (async () => new Response("missing", { status: 404 })) as unknown as typeof fetch;
    await expect(loadMetricAdapter({ url: "https://adapters.invalid/a.gguf", sha256: "0".repeat(64), mode: "activated", format: "gguf" }, { fetch: fakeFetch })).rejects.toThrow(/HTTP 404/);
  });
});
