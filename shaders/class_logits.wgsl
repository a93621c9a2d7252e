// Logits of selected vocabulary rows: logits[k] = dot(hidden, output[row_k, :]) for the rows
// row_k = ids[k] of the requested class tokens, or row_k = first_row + k for every row of the
// bound chunk with the ALL_ROWS define. `hidden` is the final-normed last position. The output
// matrix is read in its stored type (one WEIGHT_* define, see weights.wgsl).
//
// Bindings:
//   @binding(0) params: ClassLogitsParams   uniform
//   @binding(1) hidden: array<f32>          [dim] f32
//   @binding(2) weights: array<u32>         [chunk_rows, row_bytes / 4] output rows first_row .. first_row + chunk_rows - 1, raw bytes
//   @binding(3) logits: array<f32>          [n_ids] f32; with ALL_ROWS [n_vocab] f32
//   @binding(4) ids: array<u32>             [n_ids] vocabulary rows; absent with ALL_ROWS
// Dispatch: ceil(n / (WORKGROUP_SIZE / THREADS_PER_ROW)) workgroups, split with grid2D(). Each
// workgroup computes WORKGROUP_SIZE / THREADS_PER_ROW logits, and THREADS_PER_ROW neighbouring
// threads share one logit: they stride over `dim` and reduce their partial dot products in
// workgroup memory. A matrix larger than one storage binding is bound in row chunks, one dispatch
// each; without ALL_ROWS a logit is written only when its row lies in the bound chunk.
// WORKGROUP_SIZE and THREADS_PER_ROW must be powers of two, THREADS_PER_ROW <= WORKGROUP_SIZE.

#include "common"
#include "weights"

struct ClassLogitsParams {
  n: u32,           // logits to compute: n_ids, or chunk_rows with ALL_ROWS
  dim: u32,
  row_bytes: u32,   // bytes per output-matrix row
  first_row: u32,   // matrix row stored at byte 0 of `weights`
  chunk_rows: u32,  // matrix rows in `weights`
}

override WORKGROUP_SIZE: u32 = 64u;
override THREADS_PER_ROW: u32 = 1u;

@group(0) @binding(0) var<uniform> params: ClassLogitsParams;
@group(0) @binding(1) var<storage, read> hidden: array<f32>;
@group(0) @binding(2) var<storage, read> weights: array<u32>;
@group(0) @binding(3) var<storage, read_write> logits: array<f32>;
#if !ALL_ROWS
@group(0) @binding(4) var<storage, read> ids: array<u32>;
#endif

var<workgroup> partial_sums: array<f32, WORKGROUP_SIZE>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(workgroup_id) workgroup_id: vec3<u32>,
  @builtin(num_workgroups) num_workgroups: vec3<u32>,
  @builtin(local_invocation_index) local: u32,
) {
  // Threads never return early, because every thread must reach the barriers below.
  let rows_per_workgroup = WORKGROUP_SIZE / THREADS_PER_ROW;
  let lane = local % THREADS_PER_ROW;
  let k = workgroup_index(workgroup_id, num_workgroups) * rows_per_workgroup + local / THREADS_PER_ROW;
  var in_range = k < params.n;

#if ALL_ROWS
  let chunk_row = k;
  let out_index = params.first_row + k;
#else
  var row = 0u;
  if (in_range) {
    row = ids[k];
  }
  in_range = in_range && row >= params.first_row && row - params.first_row < params.chunk_rows;
  let chunk_row = row - params.first_row;
  let out_index = k;
#endif

  // Each lane takes every THREADS_PER_ROW-th group of 4 columns, then every THREADS_PER_ROW-th
  // column of the tail that dim % 4 leaves.
  var sum = 0.0;
  if (in_range) {
    let row_start = chunk_row * params.row_bytes;
    let vector_columns = params.dim & ~3u;
    for (var c = 4u * lane; c < vector_columns; c += 4u * THREADS_PER_ROW) {
      let h = vec4<f32>(hidden[c], hidden[c + 1u], hidden[c + 2u], hidden[c + 3u]);
      sum += dot(h, weight_at4(row_start, c));
    }
    for (var c = vector_columns + lane; c < params.dim; c += THREADS_PER_ROW) {
      sum += hidden[c] * weight_at(row_start, c);
    }
  }
  // One thread per row needs no reduction. THREADS_PER_ROW is an override constant, so every
  // thread of the workgroup takes the same branch and the barriers below stay uniform.
  if (THREADS_PER_ROW == 1u) {
    if (in_range) {
      logits[out_index] = sum;
    }
    return;
  }

  partial_sums[local] = sum;
  workgroupBarrier();

  // Tree reduction inside each group of THREADS_PER_ROW threads; no step runs when it is 1.
  for (var stride = THREADS_PER_ROW / 2u; stride > 0u; stride /= 2u) {
    if (lane < stride) {
      partial_sums[local] += partial_sums[local + stride];
    }
    workgroupBarrier();
  }

  if (in_range && lane == 0u) {
    logits[out_index] = partial_sums[local];
  }
}
