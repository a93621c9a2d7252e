import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AbortError, DeviceLimitsError, GPUUnsupportedError, TensorNotFoundError } from "../../src/errors.js";
import { meta } from "../../src/gguf/metadata.js";
import { quantize } from "../../src/gguf/quant.js";
import { GGUFFile } from "../../src/gguf/reader.js";
import { GGMLType } from "../../src/gguf/types.js";
import { writeGGUF } from "../../src/gguf/writer.js";
import type { GPUContext } from "../../src/gpu/context.js";
import { MemorySource } from "../../src/io/memory.js";
import { uploadWeights, type BufferAllocator } from "../../src/runtime/weights-upload.js";
import { openTestContext } from "../gpu/helpers.js";

const setup = await openTestContext();

function ramp(count: number, scale: number): Float32Array {
  return Float32Array.from({ length: count }, (_, i) => Math.sin(i * 0.37) * scale);
}

/** Builds a small GGUF file: F32 norm, a 3-row Q8_0 matrix, a 1-block Q8_0 tensor (34 bytes, not a multiple of 4). */
async function makeFile(extra: { name: string; dims: number[]; type: GGMLType; data: Uint8Array }[] = []): Promise<GGUFFile> {
  const bytes = writeGGUF({
    metadata: { "general.architecture": meta.str("llama") },
    tensors: [
      { name: "norm.weight", dims: [32], type: GGMLType.F32, data: new Uint8Array(ramp(32, 1).buffer) },
      { name: "matrix.weight", dims: [64, 3], type: GGMLType.Q8_0, data: quantize(GGMLType.Q8_0, ramp(192, 2)) },
      { name: "odd.weight", dims: [32], type: GGMLType.Q8_0, data: quantize(GGMLType.Q8_0, ramp(32, 3)) },
      ...extra,
    ],
  });
  return GGUFFile.open(new MemorySource("upload-test.gguf", bytes));
}

/** Wraps a context so the test can count live buffers. */
function trackingAllocator(context: GPUContext): BufferAllocator & { live: Set<GPUBuffer>; created: number } {
  const live = new Set<GPUBuffer>();
  const allocator = {
    device: context.device,
    live,
    created: 0,
    createBuffer(label: string, size: number, usage: GPUBufferUsageFlags): GPUBuffer {
      const buffer = context.createBuffer(label, size, usage);
      live.add(buffer);
      allocator.created++;
      return buffer;
    },
    destroyBuffer(buffer: GPUBuffer): void {
      live.delete(buffer);
      context.destroyBuffer(buffer);
    },
  };
  return allocator;
}

describe.skipIf(!setup.ctx)("uploadWeights", () => {
  let context: GPUContext;
  beforeAll(() => {
    context = setup.ctx!;
  });
  afterAll(() => context?.dispose());

  it("uploads every tensor byte for byte", async () => {
    const file = await makeFile();
    const progress: Array<[number, number]> = [];

    const weights = await uploadWeights(file, context, { onProgress: (loaded, total) => progress.push([loaded, total]) });

    expect([...weights.keys()]).toEqual(["norm.weight", "matrix.weight", "odd.weight"]);
    for (const [name, weight] of weights) {
      const expected = await file.readTensorBytes(name);
      const actual = new Uint8Array(await context.read(weight.buffer, 0, weight.buffer.size));
      expect(weight.byteLength, name).toBe(expected.byteLength);
      expect(actual.subarray(0, expected.byteLength), name).toEqual(expected);
      expect([...actual.subarray(expected.byteLength)], `${name} padding`).toEqual(new Array(actual.length - expected.byteLength).fill(0));
    }

    const total = file.tensors.reduce((sum, tensor) => sum + tensor.byteLength, 0);
    expect(progress.at(-1)).toEqual([total, total]);
    for (let i = 1; i < progress.length; i++) expect(progress[i]![0]).toBeGreaterThan(progress[i - 1]![0]);
  });

  it("uploads only the named tensors", async () => {
    const file = await makeFile();

    const weights = await uploadWeights(file, context, { names: ["odd.weight"] });

    expect([...weights.keys()]).toEqual(["odd.weight"]);
  });

  it("rejects a missing named tensor", async () => {
    const file = await makeFile();

    await expect(uploadWeights(file, context, { names: ["absent.weight"] })).rejects.toBeInstanceOf(TensorNotFoundError);
  });

  it("abort destroys uploaded buffers", async () => {
    const file = await makeFile();
    const allocator = trackingAllocator(context);
    const controller = new AbortController();

    const upload = uploadWeights(file, allocator, {
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });

    await expect(upload).rejects.toBeInstanceOf(AbortError);
    expect(allocator.created).toBe(1);
    expect(allocator.live.size).toBe(0);
  });

  it("rejects a type the kernels cannot read", async () => {
    const file = await makeFile([{ name: "q41.weight", dims: [32], type: GGMLType.Q4_1, data: quantize(GGMLType.Q4_1, ramp(32, 1)) }]);
    const allocator = trackingAllocator(context);

    const error = await uploadWeights(file, allocator).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(GPUUnsupportedError);
    expect((error as Error).message).toContain("q41.weight");
    expect((error as Error).message).toContain("Q4_1");
    expect(allocator.created).toBe(0);
  });

  it("rejects a tensor over the binding limit", async () => {
    const file = await makeFile();

    const error = await uploadWeights(file, context, { maxBindingSize: 200 }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DeviceLimitsError);
    const limits = error as DeviceLimitsError;
    expect(limits.limit).toBe("maxStorageBufferBindingSize");
    expect(limits.required).toBe(204);
    expect(limits.available).toBe(200);
    expect(limits.message).toContain("matrix.weight");
  });

  it("accepts an oversized tensor its kernel splits", async () => {
    const file = await makeFile();

    const weights = await uploadWeights(file, context, { maxBindingSize: 200, canSplit: (t) => t.name === "matrix.weight" });

    expect(weights.get("matrix.weight")?.byteLength).toBe(204);
  });
});
