// Causal grouped-query attention for prefill against a KV cache on the GPU (shaders/attention.wgsl).

import { InvalidInputError } from "../../errors.js";
import { UniformWriter } from "../buffers.js";
import { grid2D, type KernelDispatch } from "../pipelines.js";
import type { ShaderDefine } from "../shaders.js";

export const ATTENTION_WORKGROUP_SIZE = 64;
/** Largest head dimension: each of the 64 threads owns up to 4 output dimensions. */
export const ATTENTION_MAX_HEAD_DIM = ATTENTION_WORKGROUP_SIZE * 4;

/**
 * Work layout of the attention kernel. "workgroup" runs one workgroup per (query, head) with
 * workgroup reductions (entry point `main`). "per-query" runs one thread per (query, head) with
 * no barriers (entry point `main_per_query`), which suits CPU implementations of WebGPU.
 */
export type AttentionVariant = "workgroup" | "per-query";

/**
 * Returns "per-query" on software adapters when headDim is a multiple of 4 (the per-query entry
 * point reads vec4 values), and "workgroup" otherwise.
 */
export function defaultAttentionVariant(context: { isSoftwareAdapter: boolean }, headDim: number): AttentionVariant {
  return context.isSoftwareAdapter && headDim % 4 === 0 ? "per-query" : "workgroup";
}

/**
 * Returns the pipeline and workgroup grid of `pairs` (query, head) pairs in `variant`. Throws
 * InvalidInputError for "per-query" with a headDim that is not a multiple of 4.
 */
export function attentionLaunch(
  variant: AttentionVariant,
  pairs: number,
  headDim: number,
  defines: readonly ShaderDefine[],
  maxWorkgroupsPerDimension?: number,
): Pick<KernelDispatch, "pipeline" | "workgroups"> {
  const constants = { WORKGROUP_SIZE: ATTENTION_WORKGROUP_SIZE };
  if (variant === "per-query") {
    if (headDim % 4 !== 0) {
      throw new InvalidInputError(`attention: the "per-query" variant needs headDim to be a multiple of 4 but headDim = ${headDim}; use the "workgroup" variant`);
    }
    return {
      pipeline: { kernel: "attention", defines, constants, entryPoint: "main_per_query" },
      workgroups: grid2D(Math.ceil(pairs / ATTENTION_WORKGROUP_SIZE), maxWorkgroupsPerDimension),
    };
  }
  return { pipeline: { kernel: "attention", defines, constants }, workgroups: grid2D(pairs, maxWorkgroupsPerDimension) };
}

export interface AttentionArgs {
  /** [tokens, nHead, headDim] f32, already rotated. */
  q: GPUBuffer;
  /** [nCtx, nHeadKv, headDim] f32; rows 0 .. firstPosition + tokens - 1 are filled. */
  kCache: GPUBuffer;
  /** [nCtx, nHeadKv, headDim] f32, same rows filled as kCache. */
  vCache: GPUBuffer;
  /** [tokens, nHead, headDim] f32. */
  out: GPUBuffer;
  tokens: number;
  nHead: number;
  nHeadKv: number;
  headDim: number;
  /** Absolute position of query 0: the number of cached positions before this batch. */
  firstPosition: number;
  /** Cache capacity in positions. */
  nCtx: number;
  /** Score scale; default 1 / sqrt(headDim). */
  scale?: number;
  /** Work layout; default "workgroup". */
  variant?: AttentionVariant;
}

/** Returns the dispatch that writes softmax-weighted sums of V for every query and head. */
export function attentionDispatch(args: AttentionArgs): KernelDispatch {
  const { q, kCache, vCache, out, tokens, nHead, nHeadKv, headDim, firstPosition, nCtx } = args;
  const scale = args.scale ?? 1 / Math.sqrt(headDim);
  const integers = [["tokens", tokens], ["nHead", nHead], ["nHeadKv", nHeadKv], ["headDim", headDim], ["firstPosition", firstPosition], ["nCtx", nCtx]] as const;
  for (const [name, value] of integers) {
    if (!Number.isInteger(value) || value < 0) throw new InvalidInputError(`attention: ${name} = ${value} must be a non-negative integer`);
  }
  if (nHeadKv === 0 || nHead % nHeadKv !== 0) {
    throw new InvalidInputError(`attention: nHead = ${nHead} must be a positive multiple of nHeadKv = ${nHeadKv}`);
  }
  if (headDim === 0 || headDim > ATTENTION_MAX_HEAD_DIM) {
    throw new InvalidInputError(`attention: headDim = ${headDim} must be in [1, ${ATTENTION_MAX_HEAD_DIM}]`);
  }
  if (firstPosition + tokens > nCtx) {
    throw new InvalidInputError(`attention: positions up to ${firstPosition + tokens - 1} do not fit the KV cache of nCtx = ${nCtx}`);
  }
  if (kCache.size < nCtx * nHeadKv * headDim * 4 || vCache.size < nCtx * nHeadKv * headDim * 4) {
    throw new InvalidInputError(`attention: kCache (${kCache.size} bytes) or vCache (${vCache.size} bytes) is smaller than ${nCtx} x ${nHeadKv} x ${headDim} f32 values`);
  }
  if (q.size < tokens * nHead * headDim * 4 || out.size < tokens * nHead * headDim * 4) {
    throw new InvalidInputError(`attention: q (${q.size} bytes) or out (${out.size} bytes) is smaller than ${tokens} x ${nHead} x ${headDim} f32 values`);
  }

  return {
    ...attentionLaunch(args.variant ?? "workgroup", tokens * nHead, headDim, []),
    params: new UniformWriter().u32(tokens).u32(nHead).u32(nHeadKv).u32(headDim).u32(firstPosition).f32(scale).finish(),
    buffers: [q, kCache, vCache, out],
  };
}
