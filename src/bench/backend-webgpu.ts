// Our WebGPU forward pass (src/gpu/model.ts) as a bench backend, and the GPU context setup for Node.

import { existsSync } from "node:fs";

import { GGUFFile } from "../gguf/reader.js";
import { GPUContext } from "../gpu/context.js";
import { WebGPUModel } from "../gpu/model.js";
import { openFileSource } from "../io/node-file.js";
import type { PrefillBackend } from "./backend.js";
import { argmax } from "./timing.js";

/** Vulkan driver file of Chromium's SwiftShader, the CPU fallback used when no GPU driver is set. */
export const SWIFTSHADER_ICD = "/usr/lib/chromium/vk_swiftshader_icd.json";

/**
 * Creates a GPU context through Dawn. When VK_ICD_FILENAMES is unset and SwiftShader's driver file
 * exists, it points Vulkan at SwiftShader first, so machines without a GPU still get an adapter.
 */
export async function createBenchContext(): Promise<GPUContext> {
  if (process.env.VK_ICD_FILENAMES === undefined && existsSync(SWIFTSHADER_ICD)) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
  return GPUContext.create({ powerPreference: "high-performance" });
}

/**
 * Counts the bytes of GPU buffers that `context` creates and has not destroyed while `task` runs.
 * It wraps the context's buffer methods on this instance only and restores them afterwards.
 */
async function liveBufferBytesAfter<T>(context: GPUContext, task: () => Promise<T>): Promise<{ result: T; bytes: number }> {
  const live = new Map<GPUBuffer, number>();
  const { createBuffer, createStorageBuffer, destroyBuffer } = context;

  context.createBuffer = (label, size, usage) => {
    const buffer = createBuffer.call(context, label, size, usage);
    live.set(buffer, buffer.size);
    return buffer;
  };
  context.createStorageBuffer = (label, dataOrSize) => {
    const buffer = createStorageBuffer.call(context, label, dataOrSize);
    live.set(buffer, buffer.size);
    return buffer;
  };
  context.destroyBuffer = (buffer) => {
    live.delete(buffer);
    destroyBuffer.call(context, buffer);
  };

  try {
    const result = await task();
    let bytes = 0;
    for (const size of live.values()) bytes += size;
    return { result, bytes };
  } finally {
    context.createBuffer = createBuffer;
    context.createStorageBuffer = createStorageBuffer;
    context.destroyBuffer = destroyBuffer;
  }
}

/**
 * Loads `path` onto the GPU of `context`. The load time covers parsing the header, uploading (and
 * repacking) the weights and compiling the pipelines. The context stays with the caller.
 */
export async function loadWebGPUBackend(path: string, context: GPUContext): Promise<PrefillBackend> {
  const source = await openFileSource(path);
  try {
    const start = performance.now();
    const { result: model, bytes } = await liveBufferBytesAfter(context, async () => WebGPUModel.load(await GGUFFile.open(source), { context }));
    const loadMs = performance.now() - start;

    const features = [context.features.subgroups ? "subgroups" : "", context.features.shaderF16 ? "shader-f16" : ""].filter(Boolean);
    return {
      name: "webgpu",
      settings: `f32 activations and KV cache, full-vocabulary logits${features.length > 0 ? `, features: ${features.join(", ")}` : ""}`,
      loadMs,
      weightBytes: bytes,
      prefill: async (tokens) => argmax((await model.forward(tokens)).logits),
      dispose: async () => model.dispose(),
    };
  } finally {
    await source.close?.();
  }
}
