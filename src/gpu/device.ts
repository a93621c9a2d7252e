// WebGPU device acquisition for the browser (navigator.gpu) and Node (the `webgpu` package, Dawn).

import { TokenjudgeError } from "../errors.js";

/** WebGPU is missing, or no adapter could be found. */
export class WebGPUUnavailableError extends TokenjudgeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("WEBGPU_UNAVAILABLE", message, options);
  }
}

/** Returns the GPU entry point: `navigator.gpu` in a browser or worker, Dawn's in Node. */
export async function getGPU(): Promise<GPU> {
  const fromNavigator = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  if (fromNavigator) return fromNavigator;

  const isNode = typeof process !== "undefined" && !!process.versions?.node;
  if (!isNode) {
    throw new WebGPUUnavailableError(
      "WebGPU is not available in this browser: navigator.gpu is undefined. Use a browser with WebGPU enabled (Chrome 113+, or Chromium with --enable-unsafe-webgpu).",
    );
  }

  let dawn: typeof import("webgpu");
  try {
    dawn = await import("webgpu");
  } catch (cause) {
    throw new WebGPUUnavailableError("the `webgpu` package (Dawn for Node) failed to load; run `npm install webgpu`", { cause });
  }
  Object.assign(globalThis, dawn.globals);
  return dawn.create([]);
}
