// Embedding gather: out[t, c] = token_embd[ids[t], c], decoding the table's stored type
// (one WEIGHT_* define, see weights.wgsl).
//
// Bindings:
//   @binding(0) params: EmbeddingParams   uniform
//   @binding(1) ids: array<u32>           [n_tokens] token ids
//   @binding(2) weights: array<u32>       [chunk_rows, row_bytes / 4] table rows first_row .. first_row + chunk_rows - 1, raw bytes
//   @binding(3) out: array<f32>           [n_tokens, dim] f32
// Dispatch: ceil(n_tokens * dim / WORKGROUP_SIZE) workgroups, split with grid2D(); one thread per
// output element. A table larger than one storage binding is bound in row chunks, one dispatch
// each, and a thread writes only when its token's row lies in the bound chunk.

#include "common"
#include "weights"

struct EmbeddingParams {
  n_tokens: u32,
  dim: u32,
  row_bytes: u32,   // bytes per table row
  first_row: u32,   // table row stored at byte 0 of `weights`
  chunk_rows: u32,  // table rows in `weights`
}

override WORKGROUP_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> params: EmbeddingParams;
@group(0) @binding(1) var<storage, read> ids: array<u32>;
@group(0) @binding(2) var<storage, read> weights: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(workgroup_id) workgroup_id: vec3<u32>,
  @builtin(num_workgroups) num_workgroups: vec3<u32>,
  @builtin(local_invocation_index) local: u32,
) {
  let i = workgroup_index(workgroup_id, num_workgroups) * WORKGROUP_SIZE + local;
  if (i >= params.n_tokens * params.dim) {
    return;
  }

  let token = i / params.dim;
  let col = i % params.dim;
  let id = ids[token];
  if (id < params.first_row || id - params.first_row >= params.chunk_rows) {
    return;
  }

  out[i] = weight_at((id - params.first_row) * params.row_bytes, col);
}
