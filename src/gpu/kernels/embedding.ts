// Embedding gather on the GPU (shaders/embedding.wgsl): rows of token_embd for token ids, decoded
// from the table's stored type into f32.

import { InvalidInputError } from "../../errors.js";
import { UniformWriter } from "../buffers.js";
import { grid2D, type KernelDispatch } from "../pipelines.js";
import { DEFAULT_BINDING_LIMITS, rowBytes, rowChunks, weightDefine, type BindingLimits, type GPUWeightMatrix } from "./weight-rows.js";

export const EMBEDDING_WORKGROUP_SIZE = 256;

export interface EmbeddingArgs {
  /**
   * [tokens] u32 token ids. NOTE: the kernel does not range-check them, so an id outside
   * [0, table.rows) leaves its output row unwritten. Check ids with validateTokenIds before upload.
   */
  ids: GPUBuffer;
  tokens: number;
  /** token_embd as [n_vocab, dim] in its stored type. */
  table: GPUWeightMatrix;
  /** [tokens, dim] f32. */
  out: GPUBuffer;
  /** Device binding limits (pass `device.limits`); a table larger than one binding is gathered in row chunks. */
  limits?: BindingLimits;
}

/** Returns the dispatches (one per row chunk of the table) that write out[t] = table[ids[t]]. */
export function embeddingDispatches(args: EmbeddingArgs): KernelDispatch[] {
  const { ids, tokens, table, out, limits = DEFAULT_BINDING_LIMITS } = args;
  const define = weightDefine(table, "embedding");
  const bytesPerRow = rowBytes(table, "embedding");
  if (!Number.isInteger(tokens) || tokens < 0) throw new InvalidInputError(`embedding: tokens = ${tokens} must be a non-negative integer`);
  if (ids.size < tokens * 4) throw new InvalidInputError(`embedding: ids has ${ids.size} bytes, fewer than ${tokens} u32 token ids`);
  if (out.size < tokens * table.cols * 4) {
    throw new InvalidInputError(`embedding: out has ${out.size} bytes, fewer than ${tokens} x ${table.cols} f32 values`);
  }

  return rowChunks(table, "embedding", limits).map((chunk) => ({
    pipeline: { kernel: "embedding", defines: [define], constants: { WORKGROUP_SIZE: EMBEDDING_WORKGROUP_SIZE } },
    params: new UniformWriter().u32(tokens).u32(table.cols).u32(bytesPerRow).u32(chunk.firstRow).u32(chunk.rows).finish(),
    buffers: [ids, chunk.binding, out],
    workgroups: grid2D(Math.ceil((tokens * table.cols) / EMBEDDING_WORKGROUP_SIZE)),
  }));
}
