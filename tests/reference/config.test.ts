import { describe, expect, it } from "vitest";
import { GGUFFormatError, ModelUnsupportedError } from "../../src/errors.js";
import { GGMLType, type GGUFTensorInfo } from "../../src/gguf/types.js";
import { readModelConfig, type ModelFile } from "../../src/model/config.js";

/** Builds a ModelFile over plain metadata and a list of tensor names (dims only for token_embd). */
function fakeFile(architecture: string, metadata: Record<string, number | string>, tensorNames: string[]): ModelFile {
  const prefixed = Object.fromEntries(Object.entries(metadata).map(([key, value]) => [`${architecture}.${key}`, value]));
  const tensors = new Set(["token_embd.weight", ...tensorNames]);
  return {
    name: "fake.gguf",
    architecture,
    getOptionalString: (key) => (typeof prefixed[key] === "string" ? (prefixed[key] as string) : undefined),
    getOptionalNumber: (key) => (typeof prefixed[key] === "number" ? (prefixed[key] as number) : undefined),
    hasTensor: (name) => tensors.has(name),
    tensor: (name): GGUFTensorInfo => ({ name, dims: [64, 1000], type: GGMLType.F32, offset: 0, elementCount: 64000, byteLength: 256000 }),
    readTensorF32: async () => new Float32Array(0),
  };
}

const base = {
  block_count: 2,
  embedding_length: 64,
  feed_forward_length: 128,
  "attention.head_count": 8,
  "attention.head_count_kv": 2,
  "attention.layer_norm_rms_epsilon": 1e-6,
  context_length: 2048,
};

describe("readModelConfig", () => {
  it("reads llama with defaults", () => {
    const config = readModelConfig(fakeFile("llama", base, ["output.weight"]));
    expect(config.architecture).toBe("llama");
    expect(config.headDim).toBe(8);
    expect(config.headCountKV).toBe(2);
    expect(config.ropeFreqBase).toBe(10000);
    expect(config.ropeDimensionCount).toBe(8);
    expect(config.ropeStyle).toBe("normal");
    expect(config.ropeScaling).toEqual({ type: "none", factor: 1 });
    expect(config.vocabSize).toBe(1000);
    expect(config.tiedOutput).toBe(false);
    expect(config.queryKeyNorm).toBe(false);
  });

  it("reads qwen2 with NeoX RoPE and tied output", () => {
    const config = readModelConfig(fakeFile("qwen2", { ...base, "rope.freq_base": 1e6 }, []));
    expect(config.ropeStyle).toBe("neox");
    expect(config.ropeFreqBase).toBe(1e6);
    expect(config.tiedOutput).toBe(true);
  });

  it("reads qwen3 head size from key_length", () => {
    const config = readModelConfig(
      fakeFile("qwen3", { ...base, "attention.key_length": 16, "attention.value_length": 16 }, ["blk.0.attn_q_norm.weight", "blk.0.attn_k_norm.weight"]),
    );
    expect(config.headDim).toBe(16);
    expect(config.ropeDimensionCount).toBe(16);
    expect(config.queryKeyNorm).toBe(true);
    expect(config.ropeStyle).toBe("neox");
  });

  it("rejects qwen3 without q/k norm", () => {
    expect(() => readModelConfig(fakeFile("qwen3", base, []))).toThrow(/attn_q_norm/);
  });

  it("reads linear RoPE scaling", () => {
    const config = readModelConfig(fakeFile("llama", { ...base, "rope.scaling.type": "linear", "rope.scaling.factor": 4 }, []));
    expect(config.ropeScaling).toEqual({ type: "linear", factor: 4 });
    const legacy = readModelConfig(fakeFile("llama", { ...base, "rope.scale_linear": 2 }, []));
    expect(legacy.ropeScaling).toEqual({ type: "linear", factor: 2 });
  });

  it("rejects unsupported RoPE scaling", () => {
    const file = fakeFile("qwen2", { ...base, "rope.scaling.type": "yarn", "rope.scaling.factor": 4 }, []);
    expect(() => readModelConfig(file)).toThrow(ModelUnsupportedError);
    expect(() => readModelConfig(file)).toThrow(/"yarn" is not supported/);
  });

  it("rejects unknown architectures by name", () => {
    expect(() => readModelConfig(fakeFile("gemma2", base, []))).toThrow(ModelUnsupportedError);
    expect(() => readModelConfig(fakeFile("gemma2", base, []))).toThrow(/"gemma2".*llama, qwen2, qwen3/);
  });

  it("rejects missing and inconsistent values", () => {
    const { block_count: _, ...withoutBlocks } = base;
    expect(() => readModelConfig(fakeFile("llama", withoutBlocks, []))).toThrow(GGUFFormatError);
    expect(() => readModelConfig(fakeFile("llama", withoutBlocks, []))).toThrow(/llama\.block_count/);
    expect(() => readModelConfig(fakeFile("llama", { ...base, "attention.head_count_kv": 3 }, []))).toThrow(/split evenly/);
    expect(() => readModelConfig(fakeFile("llama", { ...base, "rope.dimension_count": 10 }, []))).toThrow(/no larger than the head size 8/);
    expect(() => readModelConfig(fakeFile("llama", { ...base, "attention.value_length": 4 }, []))).toThrow(/value head size 4/);
  });
});
