// Attention for a batch of suffix segments that share one cached prefix, on the GPU: the
// SUFFIX_SEGMENTS variant of shaders/attention.wgsl.
//
// API:
//   const segments = SuffixSegments.create(ctx, [L_0, L_1, ...]);   // uploads segment_starts
//   ctx.run([segmentAttentionDispatch({ q, kCache, vCache, out, segments, nHead, nHeadKv, headDim,
//                                       prefixLength, nCtx, suffixStart?, scale? })]);
//
// Layout: the queries of all segments are stacked, q and out [totalRows, nHead, headDim] f32 with
// segment j at batch rows starts[j] .. starts[j] + L_j - 1. Every segment's first row sits at
// absolute position prefixLength, so RoPE rotates batch row starts[j] + r by position
// prefixLength + r before this kernel. The KV cache [nCtx, nHeadKv, headDim] f32 contains the
// prefix in rows 0 .. prefixLength - 1 and the suffix keys and values stacked like the queries
// from row suffixStart (default prefixLength) on: batch row b at cache row suffixStart + b. The
// prefix rows are only read, so the same prefix serves batch after batch.
//
// Batch row b of segment j attends to the prefix rows and to its own segment's rows
// starts[j] .. b, with softmax(scale * q . k) over those keys. GQA: head h reads kv head
// h / (nHead / nHeadKv).

import { DeviceLimitsError, InvalidInputError } from "../../errors.js";
import { UniformWriter } from "../buffers.js";
import type { GPUContext } from "../context.js";
import type { KernelDispatch } from "../pipelines.js";
import { ATTENTION_MAX_HEAD_DIM, attentionLaunch, defaultAttentionVariant, type AttentionVariant } from "./attention.js";

/** Storage buffers the SUFFIX_SEGMENTS variant binds: q, k, v, out and segment_starts. */
const SEGMENT_ATTENTION_STORAGE_BINDINGS = 5;

/**
 * Returns segment_starts [totalRows] u32: for every batch row, the batch row where its segment
 * starts. Throws InvalidInputError for a length that is not a non-negative integer or no rows at all.
 */
export function segmentRowStarts(lengths: readonly number[]): Uint32Array {
  let totalRows = 0;
  lengths.forEach((length, index) => {
    if (!Number.isSafeInteger(length) || length < 0) {
      throw new InvalidInputError(`suffix segments: length ${index} = ${length} is invalid; pass a non-negative integer row count`);
    }
    totalRows += length;
  });
  if (totalRows === 0) {
    throw new InvalidInputError(`suffix segments: the ${lengths.length} segment lengths add up to 0 rows; pass at least one row`);
  }

  const starts = new Uint32Array(totalRows);
  let start = 0;
  for (const length of lengths) {
    starts.fill(start, start, start + length);
    start += length;
  }
  return starts;
}

/** The segment lengths of one suffix batch and their segment_starts table on the GPU. */
export class SuffixSegments {
  private constructor(
    private readonly ctx: GPUContext,
    /** Rows per segment, in batch order. */
    readonly lengths: readonly number[],
    /** First batch row of each segment. */
    readonly starts: readonly number[],
    readonly totalRows: number,
    /** segment_starts [totalRows] u32. */
    readonly rowStarts: GPUBuffer,
  ) {}

  /** Checks the lengths and uploads the segment_starts table. Segments of length 0 are allowed and take no rows. */
  static create(ctx: GPUContext, lengths: readonly number[], label = "attention.segment_starts"): SuffixSegments {
    const rowStarts = segmentRowStarts(lengths);
    const starts: number[] = [];
    let start = 0;
    for (const length of lengths) {
      starts.push(start);
      start += length;
    }
    return new SuffixSegments(ctx, [...lengths], starts, rowStarts.length, ctx.createStorageBuffer(label, rowStarts));
  }

  /** Destroys the segment_starts buffer. */
  dispose(): void {
    this.ctx.destroyBuffer(this.rowStarts);
  }
}

export interface SegmentAttentionArgs {
  /** [totalRows, nHead, headDim] f32, already rotated. */
  q: GPUBuffer;
  /** [nCtx, nHeadKv, headDim] f32: the prefix in rows 0 .. prefixLength - 1, the suffix rows from suffixStart on. */
  kCache: GPUBuffer;
  /** [nCtx, nHeadKv, headDim] f32, the same rows filled as kCache. */
  vCache: GPUBuffer;
  /** [totalRows, nHead, headDim] f32. */
  out: GPUBuffer;
  segments: SuffixSegments;
  nHead: number;
  nHeadKv: number;
  headDim: number;
  /** Cached prefix positions P, 0 or more. Each segment's first row sits at position P. */
  prefixLength: number;
  /** Cache row of batch row 0, at least prefixLength. Default prefixLength. */
  suffixStart?: number;
  /** Cache capacity in positions. */
  nCtx: number;
  /** Score scale, 1 / sqrt(headDim) by default. */
  scale?: number;
  /** Work layout; by default "per-query" on software adapters when headDim % 4 == 0, and "workgroup" elsewhere. */
  variant?: AttentionVariant;
}

/** Returns the dispatch that writes every batch row's attention output over its prefix and own segment. */
export function segmentAttentionDispatch(ctx: GPUContext, args: SegmentAttentionArgs): KernelDispatch {
  const { q, kCache, vCache, out, segments, nHead, nHeadKv, headDim, prefixLength, nCtx } = args;
  const suffixStart = args.suffixStart ?? prefixLength;
  const scale = args.scale ?? 1 / Math.sqrt(headDim);
  const rows = segments.totalRows;

  const integers = [["nHead", nHead], ["nHeadKv", nHeadKv], ["headDim", headDim], ["prefixLength", prefixLength], ["suffixStart", suffixStart], ["nCtx", nCtx]] as const;
  for (const [name, value] of integers) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new InvalidInputError(`segment attention: ${name} = ${value} is invalid; pass a non-negative integer`);
    }
  }
  if (nHeadKv === 0 || nHead % nHeadKv !== 0) {
    throw new InvalidInputError(`segment attention: nHead = ${nHead} must be a positive multiple of nHeadKv = ${nHeadKv}`);
  }
  if (headDim === 0 || headDim > ATTENTION_MAX_HEAD_DIM) {
    throw new InvalidInputError(`segment attention: headDim = ${headDim} must be in [1, ${ATTENTION_MAX_HEAD_DIM}]`);
  }
  if (suffixStart < prefixLength) {
    throw new InvalidInputError(
      `segment attention: suffixStart = ${suffixStart} is below prefixLength = ${prefixLength}, so the suffix rows would overwrite the prefix; pass suffixStart >= prefixLength`,
    );
  }
  if (suffixStart + rows > nCtx) {
    throw new InvalidInputError(
      `segment attention: ${rows} suffix rows from cache row ${suffixStart} do not fit the KV cache of nCtx = ${nCtx}; use a larger cache or fewer suffix rows`,
    );
  }

  const cacheBytes = nCtx * nHeadKv * headDim * 4;
  const rowBytes = rows * nHead * headDim * 4;
  const sizes = [
    ["kCache", kCache, cacheBytes, `[${nCtx}, ${nHeadKv}, ${headDim}] f32`],
    ["vCache", vCache, cacheBytes, `[${nCtx}, ${nHeadKv}, ${headDim}] f32`],
    ["q", q, rowBytes, `[${rows}, ${nHead}, ${headDim}] f32`],
    ["out", out, rowBytes, `[${rows}, ${nHead}, ${headDim}] f32`],
  ] as const;
  for (const [name, buffer, bytes, shape] of sizes) {
    if (buffer.size < bytes) {
      throw new InvalidInputError(`segment attention: ${name} buffer "${buffer.label}" has ${buffer.size} bytes but ${shape} needs ${bytes}; allocate it with that size`);
    }
  }

  const available = ctx.limits.maxStorageBuffersPerShaderStage;
  if (available < SEGMENT_ATTENTION_STORAGE_BINDINGS) {
    throw new DeviceLimitsError(
      "maxStorageBuffersPerShaderStage",
      SEGMENT_ATTENTION_STORAGE_BINDINGS,
      available,
      `segment attention binds ${SEGMENT_ATTENTION_STORAGE_BINDINGS} storage buffers but the device allows ${available}; use a device with the WebGPU default of 8`,
    );
  }

  const variant = args.variant ?? defaultAttentionVariant(ctx, headDim);
  return {
    ...attentionLaunch(variant, rows * nHead, headDim, ["SUFFIX_SEGMENTS"], ctx.limits.maxComputeWorkgroupsPerDimension),
    params: new UniformWriter().u32(rows).u32(nHead).u32(nHeadKv).u32(headDim).u32(prefixLength).f32(scale).u32(suffixStart).finish(),
    buffers: [q, kCache, vCache, out, segments.rowStarts],
  };
}
