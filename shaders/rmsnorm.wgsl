// RMSNorm over rows: out[r, c] = x[first_row + r, c] / sqrt(mean_c(x[first_row + r, c]^2) + eps) * weight[c].
// With first_row = rows_of_x - 1 and rows = 1 it normalizes only the last row.
//
// Bindings:
//   @binding(0) params: RmsNormParams   uniform
//   @binding(1) x: array<f32>           [rows_of_x, dim] f32
//   @binding(2) weight: array<f32>      [dim] f32
//   @binding(3) out: array<f32>         [rows, dim] f32
// Dispatch: one workgroup per output row (rows workgroups, split with grid2D()). The threads
// stride over the row, then reduce the partial sums of squares in workgroup memory.
// WORKGROUP_SIZE must be a power of two.

#include "common"

struct RmsNormParams {
  rows: u32,
  dim: u32,
  first_row: u32,
  eps: f32,
}

override WORKGROUP_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> params: RmsNormParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

var<workgroup> partial_sums: array<f32, WORKGROUP_SIZE>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(workgroup_id) workgroup_id: vec3<u32>,
  @builtin(num_workgroups) num_workgroups: vec3<u32>,
  @builtin(local_invocation_index) local: u32,
) {
  let row = workgroup_index(workgroup_id, num_workgroups);
  if (row >= params.rows) {
    return;
  }
  let in_base = (params.first_row + row) * params.dim;
  let out_base = row * params.dim;

  var sum = 0.0;
  for (var c = local; c < params.dim; c += WORKGROUP_SIZE) {
    let v = x[in_base + c];
    sum += v * v;
  }
  partial_sums[local] = sum;
  workgroupBarrier();

  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride /= 2u) {
    if (local < stride) {
      partial_sums[local] += partial_sums[local + stride];
    }
    workgroupBarrier();
  }

  let scale = 1.0 / sqrt(partial_sums[0] / f32(params.dim) + params.eps);
  for (var c = local; c < params.dim; c += WORKGROUP_SIZE) {
    out[out_base + c] = x[in_base + c] * scale * weight[c];
  }
}
