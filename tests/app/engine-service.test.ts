// The WebGPU probe that the demo engine and the extension's judge host share.

import { describe, expect, it } from "vitest";
import { probeWebGPU } from "../../src/app/engine-service.js";

describe("probeWebGPU", () => {
  it("reports a missing navigator.gpu", async () => {
    const report = await probeWebGPU(undefined);
    expect(report.webgpu).toBe(false);
    expect(report.unavailableReason).toMatch(/navigator\.gpu is undefined/);
  });

  it("reports an adapter request that returns null", async () => {
    const gpu = { requestAdapter: async () => null } as unknown as GPU;
    const report = await probeWebGPU(gpu);
    expect(report.webgpu).toBe(false);
    expect(report.unavailableReason).toMatch(/returned no adapter/);
  });

  it("reports an adapter request that throws", async () => {
    const gpu = {
      requestAdapter: async () => {
        throw new Error("blocked by policy");
      },
    } as unknown as GPU;
    const report = await probeWebGPU(gpu);
    expect(report.webgpu).toBe(false);
    expect(report.unavailableReason).toBe("navigator.gpu.requestAdapter() failed: blocked by policy");
  });

  it("describes a software adapter", async () => {
    const adapter = {
      info: { vendor: "google", architecture: "swiftshader", device: "", description: "SwiftShader Device (Subzero)" },
      features: new Set(["shader-f16"]),
    };
    const gpu = { requestAdapter: async () => adapter } as unknown as GPU;
    const report = await probeWebGPU(gpu);
    expect(report.webgpu).toBe(true);
    expect(report.shaderF16).toBe(true);
    expect(report.isSoftwareAdapter).toBe(true);
    expect(report.adapter?.architecture).toBe("swiftshader");
  });
});
