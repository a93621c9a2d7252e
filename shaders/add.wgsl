// Residual add in place: x[i] += y[i] for i < n.
//
// Bindings:
//   @binding(0) params: AddParams    uniform
//   @binding(1) x: array<f32>        [n] f32, read and written
//   @binding(2) y: array<f32>        [n] f32
// Dispatch: ceil(n / WORKGROUP_SIZE) workgroups, split over x and y with grid2D(); one thread per element.

#include "common"

struct AddParams {
  n: u32,
}

override WORKGROUP_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> params: AddParams;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(workgroup_id) workgroup_id: vec3<u32>,
  @builtin(num_workgroups) num_workgroups: vec3<u32>,
  @builtin(local_invocation_index) local: u32,
) {
  let i = workgroup_index(workgroup_id, num_workgroups) * WORKGROUP_SIZE + local;
  if (i >= params.n) {
    return;
  }
  x[i] = x[i] + y[i];
}
