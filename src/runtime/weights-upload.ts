// Streams model tensors from a GGUF file into GPU buffers one tensor at a time: read the bytes,
// write them to a new buffer, drop them. At most one tensor's bytes (plus one repacked copy when
// `prepare` is given) are on the JS heap at any moment, never the whole model.

import { AbortError, DeviceLimitsError, GPUUnsupportedError, TensorNotFoundError, throwIfAborted } from "../errors.js";
import { STORAGE_USAGE } from "../gpu/buffers.js";
import { GGMLType, ggmlTypeName, type GGUFTensorInfo } from "../gguf/types.js";

/** Tensor types the GPU kernels read directly (embedding, matmul, class logits; norms are F32). */
export const GPU_WEIGHT_TYPES: readonly GGMLType[] = [
  GGMLType.F32,
  GGMLType.F16,
  GGMLType.Q8_0,
  GGMLType.Q4_0,
  GGMLType.Q4_K,
  GGMLType.Q6_K,
];

/** The part of `GGUFFile` (src/gguf/reader.ts) the upload needs. */
export interface TensorSource {
  readonly name: string;
  readonly tensors: readonly GGUFTensorInfo[];
  readTensorBytes(tensor: GGUFTensorInfo, signal?: AbortSignal): Promise<Uint8Array>;
}

/** The part of `GPUContext` (src/gpu/context.ts) the upload needs: buffers it tracks and destroys. */
export interface BufferAllocator {
  readonly device: GPUDevice;
  createBuffer(label: string, size: number, usage: GPUBufferUsageFlags): GPUBuffer;
  destroyBuffer(buffer: GPUBuffer): void;
}

/** One tensor in GPU memory. `buffer.size` is at least `byteLength`, rounded up to a multiple of 4. */
export interface GPUWeight {
  info: GGUFTensorInfo;
  buffer: GPUBuffer;
  /** Bytes written, after `prepare` when given. */
  byteLength: number;
}

export interface UploadWeightsOptions {
  /** Tensors to upload, by name; all tensors of the file when omitted. */
  names?: readonly string[];
  /** Called after each tensor with the bytes uploaded so far and the total. */
  onProgress?: (loaded: number, total: number) => void;
  /** Checked between tensors; an abort destroys every buffer created so far. */
  signal?: AbortSignal;
  /**
   * Largest tensor that one storage binding may hold, in bytes. Defaults to the device's
   * `maxStorageBufferBindingSize`; tests pass a small value to exercise the limit.
   */
  maxBindingSize?: number;
  /** Returns true for tensors whose kernel splits them across several bindings (by rows). */
  canSplit?: (tensor: GGUFTensorInfo) => boolean;
  /** Repacks a tensor's bytes into the layout its kernel reads; identity when omitted. */
  prepare?: (tensor: GGUFTensorInfo, bytes: Uint8Array) => Uint8Array;
  /** Usage flags besides STORAGE | COPY_SRC | COPY_DST. */
  extraUsage?: GPUBufferUsageFlags;
}

function roundUpTo4(bytes: number): number {
  return Math.ceil(bytes / 4) * 4;
}

/**
 * Checks every selected tensor before any buffer is created: a type the GPU kernels cannot read
 * raises GPUUnsupportedError, a tensor over the binding limit (unless `canSplit` accepts it) or
 * over `maxBufferSize` raises DeviceLimitsError with both numbers.
 */
export function checkTensorsForGPU(
  fileName: string,
  tensors: readonly GGUFTensorInfo[],
  limits: { maxBindingSize: number; maxBufferSize: number },
  canSplit: (tensor: GGUFTensorInfo) => boolean = () => false,
): void {
  for (const tensor of tensors) {
    if (!GPU_WEIGHT_TYPES.includes(tensor.type)) {
      const supported = GPU_WEIGHT_TYPES.map(ggmlTypeName).join(", ");
      throw new GPUUnsupportedError(
        `${fileName}: tensor "${tensor.name}" has type ${ggmlTypeName(tensor.type)}, which the WebGPU kernels do not read; supported: ${supported}. Requantize the model to one of these types or use the CPU reference.`,
      );
    }

    const size = roundUpTo4(tensor.byteLength);
    if (size > limits.maxBufferSize) {
      throw new DeviceLimitsError(
        "maxBufferSize",
        size,
        limits.maxBufferSize,
        `${fileName}: tensor "${tensor.name}" needs a ${size}-byte buffer but the device allows at most ${limits.maxBufferSize} bytes (maxBufferSize); use a smaller model or a GPU with larger limits.`,
      );
    }
    if (size > limits.maxBindingSize && !canSplit(tensor)) {
      throw new DeviceLimitsError(
        "maxStorageBufferBindingSize",
        size,
        limits.maxBindingSize,
        `${fileName}: tensor "${tensor.name}" is ${size} bytes but one storage binding holds at most ${limits.maxBindingSize} bytes (maxStorageBufferBindingSize), and its kernel cannot split it; use a smaller model or a GPU with larger limits.`,
      );
    }
  }
}

/** Writes `bytes` to the start of `buffer`, padding the last partial 4-byte word with zeros. */
function writePadded(queue: GPUQueue, buffer: GPUBuffer, bytes: Uint8Array): void {
  const whole = bytes.byteLength - (bytes.byteLength % 4);
  if (whole > 0) queue.writeBuffer(buffer, 0, bytes.buffer, bytes.byteOffset, whole);

  if (whole < bytes.byteLength) {
    const tail = new Uint8Array(4); // writeBuffer sizes must be multiples of 4
    tail.set(bytes.subarray(whole));
    queue.writeBuffer(buffer, whole, tail);
  }
}

export interface StreamTensorsOptions<T> {
  /** Called after each tensor with the bytes processed so far and the total. */
  onProgress?: (loaded: number, total: number) => void;
  /** Checked before and after each read. */
  signal?: AbortSignal;
  /** Frees what `consume` returned; called for every result when a later tensor fails or the signal aborts. */
  release?: (result: T) => void;
}

/**
 * Reads `tensors` one at a time and passes each one's bytes to `consume`, which returns the GPU
 * object it made from them. The bytes are not kept, so the JS heap contains one tensor's bytes at a time.
 * Returns the results by tensor name, or releases all of them and rethrows on failure; an abort
 * raises AbortError.
 */
export async function streamTensors<T>(
  file: TensorSource,
  tensors: readonly GGUFTensorInfo[],
  consume: (tensor: GGUFTensorInfo, bytes: Uint8Array) => T | Promise<T>,
  options: StreamTensorsOptions<T> = {},
): Promise<Map<string, T>> {
  const total = tensors.reduce((sum, tensor) => sum + tensor.byteLength, 0);
  const results = new Map<string, T>();
  let loaded = 0;

  try {
    for (const tensor of tensors) {
      throwIfAborted(options.signal);
      const bytes = await file.readTensorBytes(tensor, options.signal);
      throwIfAborted(options.signal);

      results.set(tensor.name, await consume(tensor, bytes));

      loaded += tensor.byteLength;
      options.onProgress?.(loaded, total);
    }
  } catch (error) {
    if (options.release) for (const result of results.values()) options.release(result);
    if (options.signal?.aborted && !(error instanceof AbortError)) throw new AbortError(`reading tensors of ${file.name} was aborted`);
    throw error;
  }

  return results;
}

/**
 * Uploads the selected tensors of `file`, as stored, to new GPU storage buffers in file order, and
 * returns them by name. On an abort or any failure, destroys the buffers created so far and
 * rethrows (an abort raises AbortError).
 */
export async function uploadWeights(
  file: TensorSource,
  allocator: BufferAllocator,
  options: UploadWeightsOptions = {},
): Promise<Map<string, GPUWeight>> {
  const device = allocator.device;
  const wanted = options.names ? new Set(options.names) : undefined;
  const selected = file.tensors.filter((tensor) => !wanted || wanted.has(tensor.name));
  if (wanted && selected.length !== wanted.size) {
    const found = new Set(selected.map((tensor) => tensor.name));
    const missing = [...wanted].find((name) => !found.has(name)) ?? "";
    throw new TensorNotFoundError(file.name, missing);
  }

  checkTensorsForGPU(
    file.name,
    selected,
    {
      maxBindingSize: options.maxBindingSize ?? device.limits.maxStorageBufferBindingSize,
      maxBufferSize: device.limits.maxBufferSize,
    },
    options.canSplit,
  );

  const usage = STORAGE_USAGE | (options.extraUsage ?? 0);
  const upload = (tensor: GGUFTensorInfo, raw: Uint8Array): GPUWeight => {
    const bytes = options.prepare ? options.prepare(tensor, raw) : raw;
    const buffer = allocator.createBuffer(`weight ${tensor.name}`, bytes.byteLength, usage);
    writePadded(device.queue, buffer, bytes);
    return { info: tensor, buffer, byteLength: bytes.byteLength };
  };

  return streamTensors(file, selected, upload, {
    onProgress: options.onProgress,
    signal: options.signal,
    release: (weight) => allocator.destroyBuffer(weight.buffer),
  });
}
