// Rotary position embedding on the GPU, in place on q or k (shaders/rope.wgsl), and the cos/sin
// table it reads.

import { InvalidInputError } from "../../errors.js";
import { UniformWriter } from "../buffers.js";
import { grid2D, type KernelDispatch } from "../pipelines.js";

export const ROPE_WORKGROUP_SIZE = 256;

export interface RopeTableArgs {
  /** Absolute position of token 0. */
  firstPosition: number;
  tokens: number;
  /** Rotated dimensions per head, even; usually head_dim. */
  rotDims: number;
  /** Base of the frequencies (GGUF <arch>.rope.freq_base), e.g. 10000. */
  freqBase: number;
  /** Linear scaling: positions are multiplied by this (1 / GGUF <arch>.rope.scaling.factor). Default 1. */
  freqScale?: number;
}

/**
 * Returns the [tokens, rotDims / 2, 2] table of (cos, sin) of the angle
 * (firstPosition + t) * freqScale * freqBase^(-2i / rotDims), computed in float64. One table
 * serves q and k of every layer in a forward pass.
 */
export function ropeTable(args: RopeTableArgs): Float32Array {
  const { firstPosition, tokens, rotDims, freqBase, freqScale = 1 } = args;
  if (!Number.isInteger(rotDims) || rotDims <= 0 || rotDims % 2 !== 0) {
    throw new InvalidInputError(`rope: rotDims = ${rotDims} must be a positive even integer`);
  }
  if (!Number.isInteger(firstPosition) || firstPosition < 0 || !Number.isInteger(tokens) || tokens < 0) {
    throw new InvalidInputError(`rope: firstPosition = ${firstPosition} and tokens = ${tokens} must be non-negative integers`);
  }
  if (!(freqBase > 0) || !(freqScale > 0)) {
    throw new InvalidInputError(`rope: freqBase = ${freqBase} and freqScale = ${freqScale} must be positive`);
  }

  const half = rotDims / 2;
  const table = new Float32Array(tokens * half * 2);
  for (let t = 0; t < tokens; t++) {
    const position = (firstPosition + t) * freqScale;
    for (let i = 0; i < half; i++) {
      const angle = position * Math.pow(freqBase, (-2 * i) / rotDims);
      table[2 * (t * half + i)] = Math.cos(angle);
      table[2 * (t * half + i) + 1] = Math.sin(angle);
    }
  }
  return table;
}

export interface RopeArgs {
  /** [tokens, heads, headDim] f32, rotated in place. */
  x: GPUBuffer;
  /** [tokens, rotDims / 2, 2] f32 from ropeTable with the same tokens and rotDims. */
  table: GPUBuffer;
  tokens: number;
  heads: number;
  headDim: number;
  /** Rotated dimensions per head; default headDim. */
  rotDims?: number;
  /** NeoX ordering pairs (i, i + rotDims / 2), used by qwen2/qwen3; the normal ordering pairs (2i, 2i + 1), used by llama. */
  neox: boolean;
}

/** Returns the dispatch that rotates the first rotDims dimensions of every head in place. */
export function ropeDispatch(args: RopeArgs): KernelDispatch {
  const { x, table, tokens, heads, headDim, rotDims = args.headDim, neox } = args;
  for (const [name, value] of [["tokens", tokens], ["heads", heads], ["headDim", headDim]] as const) {
    if (!Number.isInteger(value) || value < 0) throw new InvalidInputError(`rope: ${name} = ${value} must be a non-negative integer`);
  }
  if (!Number.isInteger(rotDims) || rotDims <= 0 || rotDims % 2 !== 0 || rotDims > headDim) {
    throw new InvalidInputError(`rope: rotDims = ${rotDims} must be a positive even integer at most headDim = ${headDim}`);
  }
  if (x.size < tokens * heads * headDim * 4) {
    throw new InvalidInputError(`rope: x has ${x.size} bytes, fewer than ${tokens} x ${heads} x ${headDim} f32 values`);
  }
  if (table.size < tokens * rotDims * 4) {
    throw new InvalidInputError(`rope: table has ${table.size} bytes, fewer than ${tokens} tokens x ${rotDims / 2} (cos, sin) pairs; build it with ropeTable`);
  }

  return {
    pipeline: { kernel: "rope", defines: neox ? ["NEOX"] : [], constants: { WORKGROUP_SIZE: ROPE_WORKGROUP_SIZE } },
    params: new UniformWriter().u32(tokens).u32(heads).u32(headDim).u32(rotDims).finish(),
    buffers: [x, table],
    workgroups: grid2D(Math.ceil((tokens * heads * (rotDims / 2)) / ROPE_WORKGROUP_SIZE)),
  };
}
