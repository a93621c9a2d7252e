// Rotary position embedding in place on q or k: each pair (a, b) of the first rot_dims dimensions
// of every head becomes (a cos - b sin, a sin + b cos) with the angle of its token and pair.
// Pairs are (2i, 2i + 1) in the normal ordering and (i, i + rot_dims / 2) with the NEOX define.
//
// The host computes the cos/sin table in float64 (see ropeTable), because WGSL defines the
// accuracy of sin and cos only on [-pi, pi] and the angles here reach the context length.
//
// Bindings:
//   @binding(0) params: RopeParams     uniform
//   @binding(1) x: array<f32>          [tokens, heads, head_dim] f32, rotated in place
//   @binding(2) table: array<f32>      [tokens, rot_dims / 2, 2] f32: (cos, sin) of token t, pair i
// Dispatch: ceil(tokens * heads * rot_dims / 2 / WORKGROUP_SIZE) workgroups, split with grid2D();
// one thread per pair. Dimensions at and above rot_dims are left as they are.

#include "common"

struct RopeParams {
  tokens: u32,
  heads: u32,
  head_dim: u32,
  rot_dims: u32,  // even, at most head_dim
}

override WORKGROUP_SIZE: u32 = 256u;

@group(0) @binding(0) var<uniform> params: RopeParams;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> table: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(workgroup_id) workgroup_id: vec3<u32>,
  @builtin(num_workgroups) num_workgroups: vec3<u32>,
  @builtin(local_invocation_index) local: u32,
) {
  let half_dims = params.rot_dims / 2u;
  let index = workgroup_index(workgroup_id, num_workgroups) * WORKGROUP_SIZE + local;
  if (index >= params.tokens * params.heads * half_dims) {
    return;
  }

  let pair = index % half_dims;
  let token_head = index / half_dims;
  let token = token_head / params.heads;
  let head_base = token_head * params.head_dim;

#if NEOX
  let ia = head_base + pair;
  let ib = head_base + pair + half_dims;
#else
  let ia = head_base + 2u * pair;
  let ib = head_base + 2u * pair + 1u;
#endif

  let angle = 2u * (token * half_dims + pair);
  let c = table[angle];
  let s = table[angle + 1u];
  let a = x[ia];
  let b = x[ib];
  x[ia] = a * c - b * s;
  x[ib] = a * s + b * c;
}
