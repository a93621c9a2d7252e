// Matrix multiply with GGUF weights on the GPU: y[M, N] = x[M, K] · W[N, K]^T (+ bias[N]).
//
// API:
//   const weights = MatmulWeights.create(ctx, { type, bytes, n, k, label?, maxChunkBytes? });
//   await matmul(ctx, { x, weights, bias?, out, m, kernel?, subgroups?, f16? });
//   matmulDispatches(ctx, options)   // the same work as KernelDispatch[] for a larger ctx.run()
//   weights.dispose()
//
// W comes in its GGUF bytes (F32, F16, Q8_0, Q4_0, Q4_K or Q6_K), is repacked once into the
// word-aligned layout of repack.ts and uploaded in chunks of whole rows, each no larger than the
// device's maxStorageBufferBindingSize. Every chunk gets its own dispatch, which writes the
// columns of y that its rows produce. x, bias and y are f32 storage buffers.
//
// Kernels: "rows" (shaders/matmul_rows.wgsl) for M <= 8, one workgroup per output column, reduced
// with subgroups when the device has them; "tiled" (shaders/matmul_tiled.wgsl) for larger M,
// 32 x 32 output tiles through workgroup memory. "blocked" (shaders/matmul_blocked.wgsl) runs any
// M and keeps 8 x 4 outputs per thread in registers, with no workgroup memory or barriers.
// Software adapters get "blocked" by default when K % 8 == 0. GPUs get "rows" or "tiled".
//
// The "tiled" kernel has an f16 variant that keeps its weight tile in f16 and accumulates in f32. It runs by default on devices with shader-f16 for
// F16 weights (exact) and quantized weights (rounding to f16 changes a normal value by at most
// 2^-11 relative, far below the quantization error), and never by default for F32 weights.

import { DeviceLimitsError, GPUUnsupportedError, InvalidInputError } from "../../errors.js";
import { GGMLType, ggmlTypeName } from "../../gguf/types.js";
import { UniformWriter } from "../buffers.js";
import type { GPUContext } from "../context.js";
import { grid2D, type KernelDispatch, type PipelineKey } from "../pipelines.js";
import { repackedLayout, repackRows, type MatmulWeightType, type RepackedLayout } from "../repack.js";
import type { ShaderDefine } from "../shaders.js";

/** Maximum activation rows of the "rows" kernel (MAX_ROWS in matmul_rows.wgsl). */
export const MATMUL_ROWS_MAX_M = 8;

/** Threads per workgroup of the "rows" kernel: a power of two, at least MATMUL_ROWS_MAX_M. */
const ROWS_WORKGROUP_SIZE = 64;

/** Threads per workgroup of the "tiled" kernel along m and along n (WORKGROUP_M and WORKGROUP_N). */
const TILED_WORKGROUP_EDGE = 8;

/** Output tile edge of the "tiled" kernel: the workgroup edge times the 4 outputs per thread (THREAD_M, THREAD_N). */
const TILE = TILED_WORKGROUP_EDGE * 4;

/** Threads per workgroup of the "blocked" kernel along n and along m (WORKGROUP_N and WORKGROUP_M). */
const BLOCKED_WORKGROUP_N = 16;
const BLOCKED_WORKGROUP_M = 4;

/**
 * Outputs per thread of the "blocked" kernel along n (THREAD_N in the shader), and along m
 * (THREAD_M): 8, or 4 for M of at most 4. On SwiftShader with the SmolLM2-135M gate matrix at
 * M = 64, 8 rows took about 95 ms of CPU time, 4 rows 130 ms and 2 rows 200 ms.
 */
const BLOCKED_THREAD_N = 4;
const BLOCKED_THREAD_M_SMALL = 4;
const BLOCKED_THREAD_M = 8;

/** K of the "blocked" kernel must be a multiple of this: it reads x in groups of two vec4 values. */
const BLOCKED_K_MULTIPLE = 8;

const WEIGHT_DEFINES: Record<MatmulWeightType, ShaderDefine> = {
  [GGMLType.F32]: "WEIGHT_F32",
  [GGMLType.F16]: "WEIGHT_F16",
  [GGMLType.Q8_0]: "WEIGHT_Q8_0",
  [GGMLType.Q4_0]: "WEIGHT_Q4_0",
  [GGMLType.Q4_K]: "WEIGHT_Q4_K",
  [GGMLType.Q6_K]: "WEIGHT_Q6_K",
};

export type MatmulKernel = "rows" | "tiled" | "blocked";

export interface MatmulWeightsOptions {
  /** Tensor type of `bytes`. */
  type: GGMLType;
  /** The tensor's GGUF data: n rows of k elements. */
  bytes: Uint8Array;
  /** Output features: rows of W. */
  n: number;
  /** Input features: elements per row of W. */
  k: number;
  /** GPU buffer label prefix, such as the tensor name. */
  label?: string;
  /** Maximum chunk size in bytes. Defaults to the device's storage binding and buffer size limits, and tests lower it to force a split. */
  maxChunkBytes?: number;
}

/** One uploaded slice of W: rows [rowStart, rowStart + rowCount). */
export interface MatmulWeightChunk {
  buffer: GPUBuffer; // [rowCount, layout.rowWords] u32
  rowStart: number;
  rowCount: number;
}

/** A weight matrix repacked and uploaded for the matmul kernels. */
export class MatmulWeights {
  private constructor(
    private readonly ctx: GPUContext,
    readonly label: string,
    readonly layout: RepackedLayout,
    readonly n: number,
    readonly chunks: readonly MatmulWeightChunk[],
  ) {}

  /** Repacks `bytes` and uploads them in row chunks that fit the device's binding limit. */
  static create(ctx: GPUContext, options: MatmulWeightsOptions): MatmulWeights {
    const label = options.label ?? "matmul.weights";
    const { n } = options;
    if (!Number.isSafeInteger(n) || n <= 0) {
      throw new InvalidInputError(`${label}: N = ${n} is invalid; the weight matrix needs at least one row`);
    }
    const layout = repackedLayout(options.type, options.k);
    if (options.bytes.length < n * layout.storedRowBytes) {
      throw new InvalidInputError(
        `${label}: ${ggmlTypeName(options.type)} weights [${n}, ${options.k}] need ${n * layout.storedRowBytes} bytes ` +
          `but ${options.bytes.length} were given; check N, K and the tensor type`,
      );
    }

    const rowsPerChunk = maxRowsPerChunk(ctx, layout, label, options.maxChunkBytes);
    const chunks: MatmulWeightChunk[] = [];
    for (let rowStart = 0; rowStart < n; rowStart += rowsPerChunk) {
      const rowCount = Math.min(rowsPerChunk, n - rowStart);
      const words = repackRows(layout, options.bytes, rowStart, rowCount);
      const buffer = ctx.createStorageBuffer(`${label}[${rowStart}..${rowStart + rowCount})`, words);
      chunks.push({ buffer, rowStart, rowCount });
    }
    return new MatmulWeights(ctx, label, layout, n, chunks);
  }

  get type(): MatmulWeightType {
    return this.layout.type;
  }

  get k(): number {
    return this.layout.k;
  }

  /** Destroys the chunk buffers. */
  dispose(): void {
    for (const chunk of this.chunks) this.ctx.destroyBuffer(chunk.buffer);
  }
}

export interface MatmulOptions {
  /** Activations [m, k] f32. */
  x: GPUBuffer;
  weights: MatmulWeights;
  /** Bias [n] f32, added to every row of y (qwen2 attention projections). */
  bias?: GPUBuffer;
  /** Result [m, n] f32, overwritten. */
  out: GPUBuffer;
  /** Activation rows (tokens). */
  m: number;
  /**
   * Kernel to run. Defaults to "blocked" on software adapters when K % 8 == 0. Elsewhere it
   * defaults to "rows" when m <= MATMUL_ROWS_MAX_M and to "tiled" otherwise.
   */
  kernel?: MatmulKernel;
  /** Reduce with subgroup operations in the "rows" kernel. Defaults to the device's `subgroups` feature. */
  subgroups?: boolean;
  /** Store the "tiled" kernel's weight tile in f16. Needs shader-f16. Defaults to true on such devices unless W is F32. */
  f16?: boolean;
}

/** Runs y = x · W^T (+ bias) and resolves when the GPU accepted the work. */
export async function matmul(ctx: GPUContext, options: MatmulOptions): Promise<void> {
  await ctx.run(matmulDispatches(ctx, options), `matmul ${options.weights.label}`);
}

/** Returns the dispatches of one matmul: one per weight chunk. */
export function matmulDispatches(ctx: GPUContext, options: MatmulOptions): KernelDispatch[] {
  const { weights, m } = options;
  const kernel = options.kernel ?? defaultMatmulKernel(ctx, m, weights.k);
  checkMatmulInputs(ctx, options, kernel);

  const pipeline = matmulPipelineKey(ctx, options, kernel);
  const bias = options.bias ?? placeholderBias(ctx);
  const dispatches: KernelDispatch[] = [];

  for (const chunk of weights.chunks) {
    const limit = ctx.limits.maxComputeWorkgroupsPerDimension;
    const workgroups = matmulWorkgroups(kernel, chunk.rowCount, m, limit);

    const params = new UniformWriter()
      .u32(m)
      .u32(chunk.rowCount)
      .u32(weights.k)
      .u32(weights.layout.rowWords)
      .u32(chunk.rowStart)
      .u32(weights.n)
      .u32(weights.layout.groupsPerRow)
      .u32(workgroups[0])
      .finish();
    dispatches.push({ pipeline, params, buffers: [options.x, chunk.buffer, bias, options.out], workgroups });
  }
  return dispatches;
}

/** Returns the kernel a matmul of `m` rows and reduction length `k` runs when the caller names none. */
export function defaultMatmulKernel(ctx: GPUContext, m: number, k: number): MatmulKernel {
  // Measured on SwiftShader (Dawn, two CPU cores) with the Q8_0 SmolLM2-135M matrices at m = 64
  // and 256, "blocked" took 7 to 14 times less CPU time than "tiled". It reads x as vec4 values,
  // so it needs k % 8 == 0.
  if (ctx.isSoftwareAdapter && k % BLOCKED_K_MULTIPLE === 0) return "blocked";
  return m <= MATMUL_ROWS_MAX_M ? "rows" : "tiled";
}

/** Returns the workgroup grid of one chunk of `rows` weight rows. */
function matmulWorkgroups(kernel: MatmulKernel, rows: number, m: number, limit: number): [number, number] {
  if (kernel === "rows") return grid2D(rows, limit);
  if (kernel === "tiled") return [Math.ceil(rows / TILE), Math.ceil(m / TILE)];
  const threadColumns = Math.ceil(rows / BLOCKED_THREAD_N);
  const threadRows = Math.ceil(m / blockedThreadRows(m));
  return [Math.ceil(threadColumns / BLOCKED_WORKGROUP_N), Math.ceil(threadRows / BLOCKED_WORKGROUP_M)];
}

/** Returns the rows of y that one thread of the "blocked" kernel computes for `m` rows in all. */
function blockedThreadRows(m: number): number {
  return m <= BLOCKED_THREAD_M_SMALL ? BLOCKED_THREAD_M_SMALL : BLOCKED_THREAD_M;
}

/** Returns the pipeline key of a matmul: kernel file, weight decoder, reduction and bias variants. */
export function matmulPipelineKey(ctx: GPUContext, options: MatmulOptions, kernel: MatmulKernel): PipelineKey {
  const defines: ShaderDefine[] = [WEIGHT_DEFINES[options.weights.type]];
  const constants: Record<string, number> = { HAS_BIAS: options.bias ? 1 : 0 };

  if (kernel === "rows") {
    if (options.subgroups ?? ctx.features.subgroups) defines.push("SUBGROUPS");
    constants.WORKGROUP_SIZE = ROWS_WORKGROUP_SIZE;
    return { kernel: "matmul_rows", defines, constants };
  }

  if (kernel === "blocked") {
    constants.WORKGROUP_M = BLOCKED_WORKGROUP_M;
    constants.WORKGROUP_N = BLOCKED_WORKGROUP_N;
    constants.THREAD_M = blockedThreadRows(options.m);
    return { kernel: "matmul_blocked", defines, constants };
  }

  const f16 = options.f16 ?? (ctx.features.shaderF16 && options.weights.type !== GGMLType.F32);
  if (f16) defines.push("F16");
  constants.WORKGROUP_M = TILED_WORKGROUP_EDGE;
  constants.WORKGROUP_N = TILED_WORKGROUP_EDGE;
  return { kernel: "matmul_tiled", defines, constants };
}

function checkMatmulInputs(ctx: GPUContext, options: MatmulOptions, kernel: MatmulKernel): void {
  const { weights, m } = options;
  const name = weights.label;
  const n = weights.n;
  const k = weights.k;

  if (!Number.isSafeInteger(m) || m <= 0) {
    throw new InvalidInputError(`${name}: M = ${m} is invalid; pass the number of activation rows, at least 1`);
  }
  if (kernel === "rows" && m > MATMUL_ROWS_MAX_M) {
    throw new InvalidInputError(
      `${name}: the "rows" kernel handles at most ${MATMUL_ROWS_MAX_M} rows but M = ${m}; use kernel "tiled" or leave kernel unset`,
    );
  }
  const rowTiles = kernel === "tiled" ? Math.ceil(m / TILE) : Math.ceil(m / (blockedThreadRows(m) * BLOCKED_WORKGROUP_M));
  if (kernel !== "rows" && rowTiles > ctx.limits.maxComputeWorkgroupsPerDimension) {
    throw new InvalidInputError(`${name}: M = ${m} needs more than ${ctx.limits.maxComputeWorkgroupsPerDimension} row tiles; split x into smaller batches`);
  }
  if (kernel === "blocked" && k % BLOCKED_K_MULTIPLE !== 0) {
    throw new InvalidInputError(`${name}: the "blocked" kernel needs K to be a multiple of ${BLOCKED_K_MULTIPLE} but K = ${k}; use kernel "tiled" or leave kernel unset`);
  }
  if (kernel === "blocked" && options.f16) {
    throw new InvalidInputError(`${name}: the "blocked" kernel has no f16 variant; leave f16 unset or use kernel "tiled"`);
  }
  if (options.subgroups && !ctx.features.subgroups) {
    throw new GPUUnsupportedError(`${name}: subgroups were requested but the device lacks the "subgroups" feature; leave subgroups unset`);
  }
  if (options.f16 && !ctx.features.shaderF16) {
    throw new GPUUnsupportedError(`${name}: f16 was requested but the device lacks the "shader-f16" feature; leave f16 unset`);
  }

  // Buffer sizes in bytes: x [m, k], y [m, n] and bias [n], all f32.
  checkBufferSize(name, "x", options.x, m * k * 4, `[${m}, ${k}] f32`);
  checkBufferSize(name, "out", options.out, m * n * 4, `[${m}, ${n}] f32`);
  if (options.bias) checkBufferSize(name, "bias", options.bias, n * 4, `[${n}] f32`);

  const bindingLimit = ctx.limits.maxStorageBufferBindingSize;
  for (const [field, bytes] of [["x", m * k * 4], ["out", m * n * 4]] as const) {
    if (bytes > bindingLimit) {
      throw new DeviceLimitsError(
        "maxStorageBufferBindingSize",
        bytes,
        bindingLimit,
        `${name}: ${field} needs a ${bytes}-byte binding but the device allows ${bindingLimit}; run the matmul on fewer rows at a time`,
      );
    }
  }
}

function checkBufferSize(name: string, field: string, buffer: GPUBuffer, bytes: number, shape: string): void {
  if (buffer.size < bytes) {
    throw new InvalidInputError(`${name}: ${field} buffer "${buffer.label}" has ${buffer.size} bytes but ${shape} needs ${bytes}; allocate it with that size`);
  }
}

function maxRowsPerChunk(ctx: GPUContext, layout: RepackedLayout, label: string, maxChunkBytes: number | undefined): number {
  const deviceLimit = Math.min(ctx.limits.maxStorageBufferBindingSize, ctx.limits.maxBufferSize);
  const limit = Math.min(maxChunkBytes ?? deviceLimit, deviceLimit);
  const rowBytes = layout.rowWords * 4;
  const rows = Math.floor(limit / rowBytes);
  if (rows < 1) {
    throw new DeviceLimitsError(
      "maxStorageBufferBindingSize",
      rowBytes,
      limit,
      `${label}: one ${ggmlTypeName(layout.type)} row of K = ${layout.k} takes ${rowBytes} bytes, more than the ${limit}-byte chunk limit; raise maxChunkBytes or use a device with a larger storage binding`,
    );
  }

  // The "tiled" kernel dispatches one workgroup column per TILE rows.
  return Math.min(rows, ctx.limits.maxComputeWorkgroupsPerDimension * TILE);
}

// One 4-byte buffer per context, bound in place of a missing bias. HAS_BIAS = 0 keeps the shader from reading it.
const placeholderBiases = new WeakMap<GPUContext, GPUBuffer>();

function placeholderBias(ctx: GPUContext): GPUBuffer {
  let buffer = placeholderBiases.get(ctx);
  if (!buffer) {
    buffer = ctx.createStorageBuffer("matmul.no-bias", 4);
    placeholderBiases.set(ctx, buffer);
  }
  return buffer;
}
