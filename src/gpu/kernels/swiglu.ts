// SwiGLU on the GPU: out[i] = silu(gate[i]) * up[i] (shaders/swiglu.wgsl).

import { InvalidInputError } from "../../errors.js";
import { UniformWriter } from "../buffers.js";
import { grid2D, type KernelDispatch } from "../pipelines.js";

export const SWIGLU_WORKGROUP_SIZE = 256;

export interface SwigluArgs {
  /** [n] f32. */
  gate: GPUBuffer;
  /** [n] f32. */
  up: GPUBuffer;
  /** [n] f32, a buffer other than gate and up. */
  out: GPUBuffer;
  n: number;
}

/** Returns the dispatch that writes silu(gate) * up into `out`. */
export function swigluDispatch(args: SwigluArgs): KernelDispatch {
  const { gate, up, out, n } = args;
  if (!Number.isInteger(n) || n < 0) throw new InvalidInputError(`swiglu: n = ${n} must be a non-negative integer`);
  for (const [name, buffer] of [["gate", gate], ["up", up], ["out", out]] as const) {
    if (buffer.size < n * 4) throw new InvalidInputError(`swiglu: ${name} has ${buffer.size} bytes, fewer than n = ${n} f32 values`);
  }

  return {
    pipeline: { kernel: "swiglu", constants: { WORKGROUP_SIZE: SWIGLU_WORKGROUP_SIZE } },
    params: new UniformWriter().u32(n).finish(),
    buffers: [gate, up, out],
    workgroups: grid2D(Math.ceil(n / SWIGLU_WORKGROUP_SIZE)),
  };
}
