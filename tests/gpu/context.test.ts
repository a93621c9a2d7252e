import { describe, expect, it } from "vitest";
import { DeviceLostError, GPUUnsupportedError } from "../../src/errors.js";
import { GPUContext, REQUIRED_LIMITS, isSoftwareAdapterInfo } from "../../src/gpu/context.js";
import { addDispatch } from "../../src/gpu/kernels/add.js";
import { openTestContext } from "./helpers.js";

describe("isSoftwareAdapterInfo", () => {
  it("classifies adapter info strings", () => {
    const info = (vendor: string, architecture: string, description = "") => ({ vendor, architecture, device: "", description }) as GPUAdapterInfo;
    expect(isSoftwareAdapterInfo(info("google", "swiftshader"))).toBe(true);
    expect(isSoftwareAdapterInfo(info("mesa", "", "llvmpipe (LLVM 15.0.6, 256 bits)"))).toBe(true);
    expect(isSoftwareAdapterInfo(info("nvidia", "ampere", "NVIDIA GeForce RTX 3080"))).toBe(false);
  });
});

const probe = await openTestContext();
probe.ctx?.dispose();

describe.skipIf(!probe.ctx)("GPUContext", () => {
  it("reports features and granted limits", async () => {
    const ctx = await GPUContext.create();
    try {
      expect(typeof ctx.features.shaderF16).toBe("boolean");
      expect(ctx.device.features.has("shader-f16")).toBe(ctx.features.shaderF16);
      expect(ctx.device.features.has("subgroups")).toBe(ctx.features.subgroups);
      expect(ctx.device.features.has("timestamp-query")).toBe(ctx.features.timestampQuery);
      for (const [name, required] of Object.entries(REQUIRED_LIMITS)) {
        expect(ctx.limits[name as keyof typeof REQUIRED_LIMITS], name).toBeGreaterThanOrEqual(required);
      }
      expect(ctx.limits.maxStorageBufferBindingSize).toBe(ctx.device.limits.maxStorageBufferBindingSize);
    } finally {
      ctx.dispose();
    }
  });

  it("detects software adapter", async () => {
    const ctx = await GPUContext.create();
    try {
      const text = [ctx.adapterInfo.vendor, ctx.adapterInfo.architecture, ctx.adapterInfo.description].join(" ").toLowerCase();
      const swiftShader = text.includes("swiftshader");
      if (process.env.VK_ICD_FILENAMES?.includes("swiftshader")) expect(swiftShader).toBe(true);
      expect(ctx.isSoftwareAdapter).toBe(isSoftwareAdapterInfo(ctx.adapterInfo));
      if (swiftShader) expect(ctx.isSoftwareAdapter).toBe(true);
    } finally {
      ctx.dispose();
    }
  });

  it("rejects requireF16 without shader-f16", async () => {
    const ctx = await GPUContext.create();
    const hasF16 = ctx.features.shaderF16;
    ctx.dispose();
    if (hasF16) {
      const withF16 = await GPUContext.create({ requireF16: true });
      expect(withF16.features.shaderF16).toBe(true);
      withF16.dispose();
    } else {
      await expect(GPUContext.create({ requireF16: true })).rejects.toThrow(GPUUnsupportedError);
    }
  });

  it("fails every call after dispose", async () => {
    const ctx = await GPUContext.create();
    const buffer = ctx.createStorageBuffer("x", new Float32Array([1, 2, 3]));
    ctx.dispose();
    ctx.dispose();

    expect(ctx.isLost).toBe(true);
    expect(() => ctx.createStorageBuffer("y", 16)).toThrow(DeviceLostError);
    await expect(ctx.read(buffer)).rejects.toThrow(DeviceLostError);
    await expect(ctx.run([])).rejects.toThrow(DeviceLostError);
    const lost = await ctx.lost;
    expect(lost.code).toBe("DEVICE_LOST");
    expect(lost.reason).toBe("destroyed");
  });

  it("reports device loss through onLost", async () => {
    const reported: DeviceLostError[] = [];
    const ctx = await GPUContext.create({ onLost: (error) => reported.push(error) });
    const x = ctx.createStorageBuffer("x", new Float32Array(4));

    ctx.device.destroy(); // what a driver reset looks like from the context's side
    const error = await ctx.lost;

    expect(error).toBeInstanceOf(DeviceLostError);
    expect(reported).toEqual([error]);
    expect(() => ctx.assertUsable()).toThrow(error);
    await expect(ctx.run([addDispatch({ x, y: x, n: 4 })])).rejects.toBe(error);
    ctx.dispose();

    const fresh = await GPUContext.create();
    const buffer = fresh.createStorageBuffer("x", new Float32Array([5, 6]));
    expect(Array.from(await fresh.readFloat32(buffer))).toEqual([5, 6]);
    fresh.dispose();
  });

  it("reads unaligned byte ranges", async () => {
    const ctx = await GPUContext.create();
    try {
      const bytes = Uint8Array.from({ length: 11 }, (_, i) => i + 1);
      const buffer = ctx.createStorageBuffer("bytes", bytes);
      expect(buffer.size).toBe(12);
      expect(Array.from(new Uint8Array(await ctx.read(buffer, 3, 5)))).toEqual([4, 5, 6, 7, 8]);
      ctx.write(buffer, Uint8Array.of(9, 9, 9), 4);
      expect(Array.from(new Uint8Array(await ctx.read(buffer, 0, 8)))).toEqual([1, 2, 3, 4, 9, 9, 9, 0]);
    } finally {
      ctx.dispose();
    }
  });

  it("rejects invalid dispatch with GPUUnsupportedError", async () => {
    const ctx = await GPUContext.create();
    try {
      const x = ctx.createStorageBuffer("x", 16);
      const dispatch = addDispatch({ x, y: x, n: 4 }); // x bound twice, once writable: a usage conflict
      await expect(ctx.run([dispatch])).rejects.toThrow(GPUUnsupportedError);
    } finally {
      ctx.dispose();
    }
  });
});
