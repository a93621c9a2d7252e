// The WebGPU probe of the demo engine (engine.ts) and of the extension's judge host: whether the
// page gets an adapter, and what it offers.

import { isSoftwareAdapterInfo } from "../gpu/context.js";
import type { DeviceReport } from "./engine-types.js";

/** Asks `gpu` for an adapter and describes it. Failures become `unavailableReason` instead of a rejection. */
export async function probeWebGPU(gpu: GPU | undefined): Promise<DeviceReport> {
  const none = { webgpu: false, shaderF16: false, isSoftwareAdapter: false };
  if (!gpu) {
    return { ...none, unavailableReason: "navigator.gpu is undefined: this browser has WebGPU turned off or does not implement it" };
  }

  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter();
  } catch (error) {
    return { ...none, unavailableReason: `navigator.gpu.requestAdapter() failed: ${(error as Error).message}` };
  }
  if (!adapter) return { ...none, unavailableReason: "navigator.gpu.requestAdapter() returned no adapter (no usable GPU, or WebGPU is blocked for it)" };

  const info = adapter.info;
  return {
    webgpu: true,
    adapter: { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description },
    shaderF16: adapter.features.has("shader-f16"),
    isSoftwareAdapter: isSoftwareAdapterInfo(info),
  };
}
