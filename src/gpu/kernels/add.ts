// Residual add in place on the GPU: x[i] += y[i] (shaders/add.wgsl).

import { InvalidInputError } from "../../errors.js";
import { UniformWriter } from "../buffers.js";
import { grid2D, type KernelDispatch } from "../pipelines.js";

export const ADD_WORKGROUP_SIZE = 256;

export interface AddArgs {
  /** [n] f32, updated in place. */
  x: GPUBuffer;
  /** [n] f32. */
  y: GPUBuffer;
  n: number;
}

/** Returns the dispatch that adds `y` into `x` element by element. */
export function addDispatch(args: AddArgs): KernelDispatch {
  const { x, y, n } = args;
  if (!Number.isInteger(n) || n < 0) throw new InvalidInputError(`add: n = ${n} must be a non-negative integer`);
  if (x.size < n * 4 || y.size < n * 4) {
    throw new InvalidInputError(`add: n = ${n} needs ${n * 4} bytes, but x has ${x.size} and y has ${y.size}`);
  }

  return {
    pipeline: { kernel: "add", constants: { WORKGROUP_SIZE: ADD_WORKGROUP_SIZE } },
    params: new UniformWriter().u32(n).finish(),
    buffers: [x, y],
    workgroups: grid2D(Math.ceil(n / ADD_WORKGROUP_SIZE)),
  };
}
