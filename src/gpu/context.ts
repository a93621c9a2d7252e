// One WebGPU adapter and device, with the features and limits it was granted, the buffers created
// through it, the compute-pipeline cache, and device-loss tracking.
//
// API:
//   const ctx = await GPUContext.create({ powerPreference?, requireF16?, onLost? });
//   ctx.device, ctx.features, ctx.limits, ctx.adapterInfo, ctx.isSoftwareAdapter
//   ctx.createBuffer(label, size, usage) / ctx.createStorageBuffer(label, dataOrSize) / ctx.destroyBuffer(buffer)
//   ctx.write(buffer, data) / await ctx.read(buffer) / await ctx.readFloat32(buffer)
//   await ctx.run([dispatch, ...])      // see KernelDispatch in pipelines.ts
//   ctx.lost                             // Promise<DeviceLostError>, also passed to onLost
//   ctx.isLost / ctx.assertUsable()      // check for loss or dispose before starting work
//   ctx.dispose()                        // destroys the device and every buffer made through ctx
// After loss or dispose, every method except dispose() and destroyBuffer() throws the DeviceLostError.

import { DeviceLimitsError, DeviceLostError, GPUUnsupportedError } from "../errors.js";
import { createStorageBuffer, readBuffer, writeBuffer } from "./buffers.js";
import { getGPU, WebGPUUnavailableError } from "./device.js";
import { PipelineCache, type KernelDispatch } from "./pipelines.js";

export interface GPUContextOptions {
  powerPreference?: GPUPowerPreference;
  /** Throw `GPUUnsupportedError` when the adapter does not offer shader-f16. */
  requireF16?: boolean;
  /** Called once when the device is lost for any reason other than `dispose()`. */
  onLost?: (error: DeviceLostError) => void;
}

/** Optional WebGPU features the device was created with. */
export interface GPUContextFeatures {
  shaderF16: boolean;
  subgroups: boolean;
  timestampQuery: boolean;
}

/** Limits the kernels depend on, as granted to the device. */
export interface GPUContextLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  maxStorageBuffersPerShaderStage: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSizeX: number;
  maxComputeWorkgroupsPerDimension: number;
  minUniformBufferOffsetAlignment: number;
}

/**
 * Minimum limits the kernels need; an adapter below them is rejected with `DeviceLimitsError`.
 * Storage buffers per stage is what the widest kernels bind (attention: q, k, v, out). The other
 * values are the WebGPU defaults, so only compatibility-mode or non-conformant adapters fail them.
 */
export const REQUIRED_LIMITS = {
  maxStorageBufferBindingSize: 128 * 1024 * 1024,
  maxStorageBuffersPerShaderStage: 4,
  maxComputeWorkgroupStorageSize: 16 * 1024,
  maxComputeInvocationsPerWorkgroup: 256,
} as const;

// Substrings of GPUAdapterInfo fields that identify a CPU implementation of WebGPU.
const SOFTWARE_ADAPTER_MARKERS = ["swiftshader", "llvmpipe", "lavapipe", "softpipe", "fallback", "warp"];

export class GPUContext {
  readonly pipelines: PipelineCache;

  /** Settles with the loss error when the device is lost or the context is disposed. */
  readonly lost: Promise<DeviceLostError>;

  private readonly buffers = new Set<GPUBuffer>();
  // Rejects on loss; a no-op handler is attached so it never counts as an unhandled rejection.
  private readonly lostRejection: Promise<never>;
  private lostError: DeviceLostError | undefined;
  private disposed = false;

  private constructor(
    // Dawn in Node (`webgpu` 0.6) aborts the process inside async calls such as
    // createComputePipelineAsync once its GPU instance is garbage-collected, so the context keeps
    // the instance and the adapter alive as long as the device.
    private readonly gpu: GPU,
    private readonly adapter: GPUAdapter,
    readonly device: GPUDevice,
    readonly adapterInfo: GPUAdapterInfo,
    readonly features: GPUContextFeatures,
    readonly limits: GPUContextLimits,
    readonly isSoftwareAdapter: boolean,
    onLost: ((error: DeviceLostError) => void) | undefined,
  ) {
    this.pipelines = new PipelineCache(device, () => this.assertUsable());

    this.lost = device.lost.then((info) => {
      const error = this.disposed
        ? new DeviceLostError("destroyed", "the GPU context was disposed; create a new one with GPUContext.create()")
        : new DeviceLostError(
            info.reason,
            `the WebGPU device was lost (reason: ${info.reason}, message: ${info.message || "none"}); ` +
              "create a new GPUContext and upload the weights again",
          );
      this.lostError ??= error;
      if (!this.disposed) onLost?.(error);
      return error;
    });
    this.lostRejection = this.lost.then((error) => Promise.reject(error));
    this.lostRejection.catch(() => undefined);
  }

  /** Requests an adapter and a device with every useful optional feature and the adapter's maximum limits. */
  static async create(options: GPUContextOptions = {}): Promise<GPUContext> {
    const gpu = await getGPU();
    const adapter = await gpu.requestAdapter(
      options.powerPreference ? { powerPreference: options.powerPreference } : undefined,
    );
    if (!adapter) {
      throw new WebGPUUnavailableError(
        "navigator.gpu.requestAdapter() returned null: no WebGPU adapter is available. " +
          "In Node on a machine without a GPU, set VK_ICD_FILENAMES to a SwiftShader or lavapipe ICD file.",
      );
    }

    const features: GPUContextFeatures = {
      shaderF16: adapter.features.has("shader-f16"),
      subgroups: adapter.features.has("subgroups"),
      timestampQuery: adapter.features.has("timestamp-query"),
    };
    if (options.requireF16 && !features.shaderF16) {
      throw new GPUUnsupportedError(
        `the WebGPU adapter (${describeAdapter(adapter.info)}) does not offer the shader-f16 feature; ` +
          "create the context without requireF16 to use the f32 kernels",
      );
    }
    checkAdapterLimits(adapter);

    const requiredFeatures: GPUFeatureName[] = [];
    if (features.shaderF16) requiredFeatures.push("shader-f16");
    if (features.subgroups) requiredFeatures.push("subgroups" as GPUFeatureName);
    if (features.timestampQuery) requiredFeatures.push("timestamp-query");

    const a = adapter.limits;
    let device: GPUDevice;
    try {
      device = await adapter.requestDevice({
        label: "tokenjudge",
        requiredFeatures,
        requiredLimits: {
          maxStorageBufferBindingSize: a.maxStorageBufferBindingSize,
          maxBufferSize: a.maxBufferSize,
          maxStorageBuffersPerShaderStage: a.maxStorageBuffersPerShaderStage,
          maxComputeWorkgroupStorageSize: a.maxComputeWorkgroupStorageSize,
          maxComputeInvocationsPerWorkgroup: a.maxComputeInvocationsPerWorkgroup,
          maxComputeWorkgroupSizeX: a.maxComputeWorkgroupSizeX,
        },
      });
    } catch (cause) {
      throw new WebGPUUnavailableError(
        `requestDevice() failed on adapter ${describeAdapter(adapter.info)}; try another powerPreference or browser`,
        { cause },
      );
    }

    const d = device.limits;
    const limits: GPUContextLimits = {
      maxStorageBufferBindingSize: d.maxStorageBufferBindingSize,
      maxBufferSize: d.maxBufferSize,
      maxStorageBuffersPerShaderStage: d.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupStorageSize: d.maxComputeWorkgroupStorageSize,
      maxComputeInvocationsPerWorkgroup: d.maxComputeInvocationsPerWorkgroup,
      maxComputeWorkgroupSizeX: d.maxComputeWorkgroupSizeX,
      maxComputeWorkgroupsPerDimension: d.maxComputeWorkgroupsPerDimension,
      minUniformBufferOffsetAlignment: d.minUniformBufferOffsetAlignment,
    };
    return new GPUContext(gpu, adapter, device, adapter.info, features, limits, isSoftwareAdapterInfo(adapter.info), options.onLost);
  }

  /** True once the device is lost or the context disposed. */
  get isLost(): boolean {
    return this.lostError !== undefined || this.disposed;
  }

  /** Throws the `DeviceLostError` when the device is lost or the context disposed. */
  assertUsable(): void {
    if (this.lostError) throw this.lostError;
    if (this.disposed) {
      throw new DeviceLostError("destroyed", "the GPU context was disposed; create a new one with GPUContext.create()");
    }
  }

  /** Creates a buffer that `dispose()` destroys. */
  createBuffer(label: string, size: number, usage: GPUBufferUsageFlags): GPUBuffer {
    this.assertUsable();
    const buffer = this.device.createBuffer({ label, size: alignTo4(Math.max(size, 4)), usage });
    this.buffers.add(buffer);
    return buffer;
  }

  /**
   * Creates a storage buffer (also a copy source and destination) from data or a byte size. Data
   * whose byte length is not a multiple of 4 is zero-padded, so quantized rows can be read as u32.
   */
  createStorageBuffer(label: string, dataOrSize: ArrayBufferView | number): GPUBuffer {
    this.assertUsable();
    const buffer = createStorageBuffer(this.device, label, dataOrSize);
    this.buffers.add(buffer);
    return buffer;
  }

  /** Destroys a buffer created through this context before `dispose()`. */
  destroyBuffer(buffer: GPUBuffer): void {
    this.buffers.delete(buffer);
    buffer.destroy();
  }

  /** Queues a write of `data` into `buffer` at `byteOffset`. */
  write(buffer: GPUBuffer, data: ArrayBufferView, byteOffset = 0): void {
    this.assertUsable();
    writeBuffer(this.device, buffer, data, byteOffset);
  }

  /** Copies `byteLength` bytes (default: the whole buffer) back to the CPU after all queued work. */
  async read(buffer: GPUBuffer, byteOffset = 0, byteLength = buffer.size - byteOffset): Promise<ArrayBuffer> {
    this.assertUsable();
    const bytes = await Promise.race([readBuffer(this.device, buffer, byteOffset, byteLength), this.lostRejection]);
    this.assertUsable();
    return bytes;
  }

  /** Reads `count` f32 values (default: the whole buffer) starting at element `offset`. */
  async readFloat32(buffer: GPUBuffer, offset = 0, count = Math.floor(buffer.size / 4) - offset): Promise<Float32Array> {
    return new Float32Array(await this.read(buffer, offset * 4, count * 4));
  }

  /**
   * Encodes the dispatches into one compute pass, submits it, and rejects with
   * `GPUUnsupportedError` when WebGPU reports a validation or out-of-memory error for them.
   * Dispatches run in order, and each one reads the results of the ones before it.
   */
  async run(dispatches: readonly KernelDispatch[], label = "tokenjudge.run"): Promise<void> {
    this.assertUsable();
    const prepared = await Promise.all(dispatches.map((d) => this.pipelines.prepare(d)));

    this.device.pushErrorScope("out-of-memory");
    this.device.pushErrorScope("validation");
    const encoder = this.device.createCommandEncoder({ label });
    const pass = encoder.beginComputePass({ label });
    for (const p of prepared) p.encode(pass);
    pass.end();
    this.device.queue.submit([encoder.finish()]);
    const validation = await this.device.popErrorScope();
    const outOfMemory = await this.device.popErrorScope();

    for (const p of prepared) p.release();
    this.assertUsable();
    const error = validation ?? outOfMemory;
    if (error) {
      const kernels = dispatches.map((d) => d.pipeline.kernel).join(", ");
      throw new GPUUnsupportedError(`WebGPU rejected the dispatches [${kernels}]: ${error.message}`);
    }
  }

  /** Destroys every buffer created through this context, then the device. Safe to call twice. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const buffer of this.buffers) buffer.destroy();
    this.buffers.clear();
    this.pipelines.clear();
    this.device.destroy();
  }
}

/** True when the adapter is a CPU implementation (SwiftShader, llvmpipe, lavapipe, a fallback adapter). */
export function isSoftwareAdapterInfo(info: GPUAdapterInfo): boolean {
  if ((info as { isFallbackAdapter?: boolean }).isFallbackAdapter) return true;
  const text = [info.vendor, info.architecture, info.device, info.description].join(" ").toLowerCase();
  return SOFTWARE_ADAPTER_MARKERS.some((marker) => text.includes(marker));
}

function describeAdapter(info: GPUAdapterInfo): string {
  const parts = [info.vendor, info.architecture, info.description].filter((part) => part);
  return parts.length > 0 ? parts.join(" / ") : "unknown adapter";
}

function checkAdapterLimits(adapter: GPUAdapter): void {
  for (const [name, required] of Object.entries(REQUIRED_LIMITS)) {
    const available = adapter.limits[name as keyof typeof REQUIRED_LIMITS];
    if (available < required) {
      throw new DeviceLimitsError(
        name,
        required,
        available,
        `the WebGPU adapter (${describeAdapter(adapter.info)}) offers ${name} = ${available}, ` +
          `but the kernels need at least ${required}; use a different GPU or browser`,
      );
    }
  }
}

function alignTo4(n: number): number {
  return Math.ceil(n / 4) * 4;
}
