// RMSNorm on the GPU (shaders/rmsnorm.wgsl), over every row or over a range such as the last row.

import { InvalidInputError } from "../../errors.js";
import { UniformWriter } from "../buffers.js";
import { grid2D, type KernelDispatch } from "../pipelines.js";

export const RMSNORM_WORKGROUP_SIZE = 64;

export interface RmsNormArgs {
  /** [inputRows, dim] f32. */
  x: GPUBuffer;
  /** [dim] f32. */
  weight: GPUBuffer;
  /** [rows, dim] f32: row r is the normed input row firstRow + r. */
  out: GPUBuffer;
  /** Rows to normalize. */
  rows: number;
  dim: number;
  eps: number;
  /** First input row to normalize, default 0. For the last row only, pass inputRows - 1 with rows = 1. */
  firstRow?: number;
}

/** Returns the dispatch that writes out[r] = x[firstRow + r] / rms(x[firstRow + r]) * weight. */
export function rmsnormDispatch(args: RmsNormArgs): KernelDispatch {
  const { x, weight, out, rows, dim, eps, firstRow = 0 } = args;
  for (const [name, value] of [["rows", rows], ["dim", dim], ["firstRow", firstRow]] as const) {
    if (!Number.isInteger(value) || value < 0) throw new InvalidInputError(`rmsnorm: ${name} = ${value} must be a non-negative integer`);
  }
  if (!(eps > 0)) throw new InvalidInputError(`rmsnorm: eps = ${eps} must be positive (GGUF key <arch>.attention.layer_norm_rms_epsilon)`);
  if (x.size < (firstRow + rows) * dim * 4) {
    throw new InvalidInputError(`rmsnorm: x has ${x.size} bytes, fewer than rows ${firstRow}..${firstRow + rows - 1} of dim ${dim} need`);
  }
  if (weight.size < dim * 4) throw new InvalidInputError(`rmsnorm: weight has ${weight.size} bytes, fewer than dim = ${dim} f32 values`);
  if (out.size < rows * dim * 4) throw new InvalidInputError(`rmsnorm: out has ${out.size} bytes, fewer than ${rows} x ${dim} f32 values`);

  return {
    pipeline: { kernel: "rmsnorm", constants: { WORKGROUP_SIZE: RMSNORM_WORKGROUP_SIZE } },
    params: new UniformWriter().u32(rows).u32(dim).u32(firstRow).f32(eps).finish(),
    buffers: [x, weight, out],
    workgroups: grid2D(rows),
  };
}
