// GPU buffer creation, upload and readback on a bare GPUDevice. `GPUContext` wraps these and
// tracks the buffers for `dispose()`; use the context methods unless you manage lifetimes yourself.

// WebGPU flag values (fixed by the spec), spelled out because in Node the GPUBufferUsage and
// GPUMapMode globals exist only after getGPU() has loaded Dawn.
export const BufferUsage = {
  MAP_READ: 0x0001,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
} as const;
const MAP_MODE_READ = 0x0001;

/** Usage of the buffers kernels read and write: storage, plus copy in both directions for upload and readback. */
export const STORAGE_USAGE = BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST;

/**
 * Creates a storage buffer from data or a byte size. The size is rounded up to a multiple of 4 and
 * data is zero-padded, because WebGPU copies and WGSL `array<u32>` work in 4-byte units.
 */
export function createStorageBuffer(device: GPUDevice, label: string, dataOrSize: ArrayBufferView | number): GPUBuffer {
  if (typeof dataOrSize === "number") {
    return device.createBuffer({ label, size: alignTo4(Math.max(dataOrSize, 4)), usage: STORAGE_USAGE });
  }

  const size = alignTo4(Math.max(dataOrSize.byteLength, 4));
  const buffer = device.createBuffer({ label, size, usage: STORAGE_USAGE, mappedAtCreation: true });
  const mapped = new Uint8Array(buffer.getMappedRange());
  mapped.set(new Uint8Array(dataOrSize.buffer, dataOrSize.byteOffset, dataOrSize.byteLength));
  buffer.unmap();
  return buffer;
}

/** Queues a write of `data` at `byteOffset`, zero-padding its tail to a multiple of 4 bytes. */
export function writeBuffer(device: GPUDevice, buffer: GPUBuffer, data: ArrayBufferView, byteOffset = 0): void {
  const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  if (bytes.byteLength % 4 === 0) {
    device.queue.writeBuffer(buffer, byteOffset, bytes);
    return;
  }
  const padded = new Uint8Array(alignTo4(bytes.byteLength));
  padded.set(bytes);
  device.queue.writeBuffer(buffer, byteOffset, padded);
}

/**
 * Copies a byte range of `buffer` (a COPY_SRC buffer) into a staging buffer after all queued
 * work and returns it. `byteOffset` and `byteLength` are rounded out to multiples of 4 for the
 * copy, and the result is trimmed back to the requested range.
 */
export async function readBuffer(device: GPUDevice, buffer: GPUBuffer, byteOffset = 0, byteLength = buffer.size - byteOffset): Promise<ArrayBuffer> {
  if (byteOffset < 0 || byteLength < 0 || byteOffset + byteLength > buffer.size) {
    throw new RangeError(
      `readBuffer: range [${byteOffset}, ${byteOffset + byteLength}) is outside buffer "${buffer.label}" of ${buffer.size} bytes`,
    );
  }
  if (byteLength === 0) return new ArrayBuffer(0);

  const start = byteOffset - (byteOffset % 4);
  const end = alignTo4(byteOffset + byteLength);
  const staging = device.createBuffer({
    label: `${buffer.label}.readback`,
    size: end - start,
    usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST,
  });

  try {
    const encoder = device.createCommandEncoder({ label: `${buffer.label}.readback` });
    encoder.copyBufferToBuffer(buffer, start, staging, 0, end - start);
    device.queue.submit([encoder.finish()]);
    await staging.mapAsync(MAP_MODE_READ);
    const skip = byteOffset - start;
    return staging.getMappedRange().slice(skip, skip + byteLength);
  } finally {
    staging.destroy();
  }
}

/**
 * Packs a kernel's uniform parameters in WGSL struct order: each call appends one 4-byte field,
 * and `finish()` pads the result to 16 bytes (the uniform struct alignment).
 */
export class UniformWriter {
  private readonly view = new DataView(new ArrayBuffer(256));
  private offset = 0;

  u32(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
      throw new RangeError(`UniformWriter.u32: ${value} at byte ${this.offset} is not an integer in [0, 2^32)`);
    }
    this.view.setUint32(this.advance(), value, true);
    return this;
  }

  i32(value: number): this {
    if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) {
      throw new RangeError(`UniformWriter.i32: ${value} at byte ${this.offset} is not an integer in [-2^31, 2^31)`);
    }
    this.view.setInt32(this.advance(), value, true);
    return this;
  }

  f32(value: number): this {
    this.view.setFloat32(this.advance(), value, true);
    return this;
  }

  finish(): Uint8Array<ArrayBuffer> {
    return new Uint8Array(this.view.buffer.slice(0, Math.max(16, Math.ceil(this.offset / 16) * 16)));
  }

  private advance(): number {
    if (this.offset + 4 > this.view.byteLength) {
      throw new RangeError(`UniformWriter: more than ${this.view.byteLength} bytes of parameters`);
    }
    const at = this.offset;
    this.offset += 4;
    return at;
  }
}

function alignTo4(n: number): number {
  return Math.ceil(n / 4) * 4;
}
