// SwiGLU activation: out[i] = silu(gate[i]) * up[i], with silu(g) = g * sigmoid(g).
//
// Bindings:
//   @binding(0) params: SwigluParams   uniform
//   @binding(1) gate: array<f32>       [n] f32
//   @binding(2) up: array<f32>         [n] f32
//   @binding(3) out: array<f32>        [n] f32
// Dispatch: ceil(n / WORKGROUP_SIZE) workgroups, split with grid2D(); one thread per element.

#include "common"

struct SwigluParams {
  n: u32,
}

override WORKGROUP_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> params: SwigluParams;
@group(0) @binding(1) var<storage, read> gate: array<f32>;
@group(0) @binding(2) var<storage, read> up: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

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
  let g = gate[i];
  out[i] = g * sigmoid(g) * up[i];
}
