// Rounding of activations as llama.cpp's CPU backend rounds them before a quantized matrix
// product (shaders/round_activations.wgsl). The float32 reference does the same in
// src/reference/activation-rounding.ts; both exist so results can be compared with llama.cpp's.

import { InvalidInputError } from "../../errors.js";
import { GGMLType } from "../../gguf/types.js";
import { UniformWriter } from "../buffers.js";
import { grid2D, type KernelDispatch } from "../pipelines.js";

export const ROUND_ACTIVATIONS_WORKGROUP_SIZE = 64;

/** The block formats llama.cpp rounds activations to: Q8_0 (32 values) and Q8_K (256 values). */
export type ActivationBlockFormat = "q8_0" | "q8_k";

const BLOCK_SIZES: Record<ActivationBlockFormat, number> = { q8_0: 32, q8_k: 256 };

/**
 * Returns the format llama.cpp rounds a matrix product's input to for weights of `type`, or
 * undefined when it keeps the input in float32 for the kernels here. NOTE: for F16 and BF16
 * weights llama.cpp rounds the input to f16 or bf16, which this GPU path does not emulate.
 */
export function activationBlockFormat(type: GGMLType): ActivationBlockFormat | undefined {
  switch (type) {
    case GGMLType.Q8_0:
    case GGMLType.Q4_0:
    case GGMLType.Q4_1:
      return "q8_0";
    case GGMLType.Q4_K:
    case GGMLType.Q5_K:
    case GGMLType.Q6_K:
      return "q8_k";
    default:
      return undefined;
  }
}

export interface RoundActivationsArgs {
  /** [rows, cols] f32. */
  x: GPUBuffer;
  /** [rows, cols] f32, a buffer other than x. */
  out: GPUBuffer;
  rows: number;
  /** Row length, a multiple of the format's block size. */
  cols: number;
  format: ActivationBlockFormat;
}

/** Returns the dispatch that writes `x` rounded in `format` blocks into `out`. */
export function roundActivationsDispatch(args: RoundActivationsArgs): KernelDispatch {
  const { x, out, rows, cols, format } = args;
  const blockSize = BLOCK_SIZES[format];
  if (!Number.isInteger(rows) || rows < 0) throw new InvalidInputError(`round activations: rows = ${rows} must be a non-negative integer`);
  if (!Number.isInteger(cols) || cols < 1 || cols % blockSize !== 0) {
    throw new InvalidInputError(`round activations: cols = ${cols} must be a positive multiple of the ${format} block size ${blockSize}`);
  }
  const bytes = rows * cols * 4;
  for (const [name, buffer] of [["x", x], ["out", out]] as const) {
    if (buffer.size < bytes) throw new InvalidInputError(`round activations: ${name} has ${buffer.size} bytes, fewer than ${rows} x ${cols} f32 values`);
  }
  if (x === out) throw new InvalidInputError("round activations: x and out are the same buffer; pass a separate output buffer");

  const blocks = (rows * cols) / blockSize;
  return {
    pipeline: {
      kernel: "round_activations",
      constants: { WORKGROUP_SIZE: ROUND_ACTIVATIONS_WORKGROUP_SIZE, BLOCK_SIZE: blockSize, Q8_K: format === "q8_k" ? 1 : 0 },
    },
    params: new UniformWriter().u32(blocks).finish(),
    buffers: [x, out],
    workgroups: grid2D(Math.ceil(blocks / ROUND_ACTIVATIONS_WORKGROUP_SIZE)),
  };
}
