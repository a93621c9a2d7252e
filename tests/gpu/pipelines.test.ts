import { afterAll, describe, expect, it } from "vitest";
import { GPUUnsupportedError } from "../../src/errors.js";
import { UniformWriter } from "../../src/gpu/buffers.js";
import { grid2D, pipelineLabel, type PipelineKey } from "../../src/gpu/pipelines.js";
import { SHADER_DEFINES, shaderNames, type ShaderDefine } from "../../src/gpu/shaders.js";
import { openTestContext } from "./helpers.js";

describe("pipelineLabel", () => {
  it("ignores define and constant order", () => {
    const a: PipelineKey = { kernel: "embedding", defines: ["WEIGHT_Q4_K", "F16"], constants: { B: 2, A: 1 } };
    const b: PipelineKey = { kernel: "embedding", defines: ["F16", "WEIGHT_Q4_K"], constants: { A: 1, B: 2 } };
    expect(pipelineLabel(a)).toBe(pipelineLabel(b));
    expect(pipelineLabel(a)).toBe("embedding[F16,WEIGHT_Q4_K]{A=1,B=2}");
  });

  it("distinguishes every field", () => {
    const base: PipelineKey = { kernel: "rope", defines: ["NEOX"], constants: { WORKGROUP_SIZE: 64 } };
    const labels = new Set([
      pipelineLabel(base),
      pipelineLabel({ ...base, kernel: "add" }),
      pipelineLabel({ ...base, defines: [] }),
      pipelineLabel({ ...base, constants: { WORKGROUP_SIZE: 128 } }),
      pipelineLabel({ ...base, append: ["weights"] }),
      pipelineLabel({ ...base, entryPoint: "other" }),
    ]);
    expect(labels.size).toBe(6);
  });
});

describe("grid2D", () => {
  it("keeps small counts in x", () => {
    expect(grid2D(1)).toEqual([1, 1]);
    expect(grid2D(65535)).toEqual([65535, 1]);
  });

  it("covers large counts within the limit", () => {
    for (const count of [65536, 151936, 1_000_003]) {
      const [x, y] = grid2D(count);
      expect(x).toBeLessThanOrEqual(65535);
      expect(x * y).toBeGreaterThanOrEqual(count);
      expect(x * (y - 1)).toBeLessThan(count);
    }
  });
});

describe("UniformWriter", () => {
  it("pads to 16 bytes", () => {
    const bytes = new UniformWriter().u32(7).f32(0.5).i32(-2).u32(1).u32(2).finish();
    expect(bytes.byteLength).toBe(32);
    const view = new DataView(bytes.buffer);
    expect(view.getUint32(0, true)).toBe(7);
    expect(view.getFloat32(4, true)).toBe(0.5);
    expect(view.getInt32(8, true)).toBe(-2);
    expect(view.getUint32(16, true)).toBe(2);
  });

  it("rejects out-of-range integers", () => {
    expect(() => new UniformWriter().u32(-1)).toThrow(RangeError);
    expect(() => new UniformWriter().u32(1.5)).toThrow(RangeError);
    expect(() => new UniformWriter().i32(2 ** 31)).toThrow(RangeError);
  });
});

const gpu = await openTestContext();

describe.skipIf(!gpu.ctx)("PipelineCache", () => {
  const ctx = gpu.ctx!;
  afterAll(() => ctx.dispose());

  it("reuses compiled pipeline", async () => {
    const key: PipelineKey = { kernel: "add", constants: { WORKGROUP_SIZE: 64 } };
    const first = await ctx.pipelines.get(key);
    const second = await ctx.pipelines.get({ kernel: "add", constants: { WORKGROUP_SIZE: 64 } });
    expect(second).toBe(first);
    expect(first.label).toBe("add{WORKGROUP_SIZE=64}");
  });

  it("reports compile errors with label", async () => {
    const key: PipelineKey = { kernel: "weights", defines: ["WEIGHT_F32"] }; // an include file has no entry point
    await expect(ctx.pipelines.get(key)).rejects.toThrow(GPUUnsupportedError);
    await expect(ctx.pipelines.get(key)).rejects.toThrow(/weights\[WEIGHT_F32\]/);
  });

  it("compiles every kernel variant", async () => {
    const weightDefines = SHADER_DEFINES.filter((d) => d.startsWith("WEIGHT_"));
    const variants: PipelineKey[] = [
      { kernel: "add" },
      { kernel: "swiglu" },
      { kernel: "rmsnorm" },
      { kernel: "rope" },
      { kernel: "rope", defines: ["NEOX"] },
      { kernel: "attention" },
      { kernel: "attention", defines: ["SUFFIX_SEGMENTS"] },
      { kernel: "attention", entryPoint: "main_per_query" },
      { kernel: "attention", defines: ["SUFFIX_SEGMENTS"], entryPoint: "main_per_query" },
      { kernel: "round_activations" },
      { kernel: "round_activations", constants: { BLOCK_SIZE: 256, Q8_K: 1 } },
      { kernel: "lora_shrink" },
      { kernel: "lora_expand" },
      { kernel: "log_softmax" },
      ...weightDefines.map((d): PipelineKey => ({ kernel: "embedding", defines: [d as ShaderDefine] })),
      ...weightDefines.map((d): PipelineKey => ({ kernel: "class_logits", defines: [d as ShaderDefine] })),
      ...weightDefines.map((d): PipelineKey => ({ kernel: "class_logits", defines: [d as ShaderDefine, "ALL_ROWS"] })),
    ];
    for (const key of variants) {
      await expect(ctx.pipelines.get(key), pipelineLabel(key)).resolves.toBeDefined();
    }
    const kernels = new Set(variants.map((v) => v.kernel));
    const includes = new Set(["common", "weights", "lora_common"]);
    const matmulFiles = shaderNames().filter((name) => name.startsWith("matmul") || name.startsWith("quant_"));
    expect(shaderNames().filter((name) => !kernels.has(name) && !includes.has(name) && !matmulFiles.includes(name))).toEqual([]);
  });
});
