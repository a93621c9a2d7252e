// Few-rows matmul: y[m, n] = x[m, :] . W[n, :] (+ bias[n]) for M = 1..8 activation rows.
//
// Bindings: see matmul_common.wgsl (params, x [m, k] f32, w [n, row_words] u32, bias [n_total]
// f32, y [m, n_total] f32). The WEIGHT_* define selects the weight decoder.
// Dispatch: one workgroup of WORKGROUP_SIZE threads per chunk row n, on a 2-D grid of
// (workgroups_x, ceil(n / workgroups_x)) workgroups, because a large N exceeds the 65535
// workgroups allowed per dimension. Workgroups past params.n do nothing.
//
// Thread t reads the groups of 8 weights t, t + WORKGROUP_SIZE, ... and keeps one partial sum per
// row m. The workgroup then adds them: with SUBGROUPS defined through subgroupAdd, otherwise
// through a shared-memory tree.

#if SUBGROUPS
enable subgroups;
#endif

#include "matmul_common"
#include "matmul_x"

const MAX_ROWS: u32 = 8u;

// Threads per workgroup: a power of two, at least MAX_ROWS.
override WORKGROUP_SIZE: u32 = 64u;

var<workgroup> partial_sums: array<f32, MAX_ROWS * WORKGROUP_SIZE>; // [MAX_ROWS, WORKGROUP_SIZE]

// Returns this thread's partial sums of x[m, :] . W[n, :] for m < params.m, zero elsewhere.
fn partial_dot_products(n: u32, thread: u32) -> array<f32, MAX_ROWS> {
  var sums: array<f32, MAX_ROWS>;
  for (var group = thread; group < params.groups_per_row; group += WORKGROUP_SIZE) {
    let weights = decode_group8(n, group);
    let k0 = group * 8u;
    for (var m = 0u; m < params.m; m++) {
      sums[m] += dot(weights.lo, load_x4(m, k0)) + dot(weights.hi, load_x4(m, k0 + 4u));
    }
  }
  return sums;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(workgroup_id) workgroup_id: vec3<u32>,
  @builtin(local_invocation_index) thread: u32,
#if SUBGROUPS
  @builtin(subgroup_invocation_id) lane: u32,
#endif
) {
  // n is uniform across the workgroup, so the barriers below stay in uniform control flow.
  let n = workgroup_id.y * params.workgroups_x + workgroup_id.x;
  if (n >= params.n) {
    return;
  }
  let sums = partial_dot_products(n, thread);

#if SUBGROUPS
  // Each subgroup adds its sums, and its first lane stores them at the lane's own slot. WGSL does
  // not define which threads form a subgroup, so every other slot gets zero and the final sum
  // reads all WORKGROUP_SIZE slots.
  for (var m = 0u; m < params.m; m++) {
    let subgroup_sum = subgroupAdd(sums[m]);
    partial_sums[m * WORKGROUP_SIZE + thread] = select(0.0, subgroup_sum, lane == 0u);
  }
  workgroupBarrier();

  if (thread < params.m) {
    var total = 0.0;
    for (var slot = 0u; slot < WORKGROUP_SIZE; slot++) {
      total += partial_sums[thread * WORKGROUP_SIZE + slot];
    }
    store_y(thread, n, total);
  }
#else
  for (var m = 0u; m < params.m; m++) {
    partial_sums[m * WORKGROUP_SIZE + thread] = sums[m];
  }
  workgroupBarrier();

  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride /= 2u) {
    if (thread < stride) {
      for (var m = 0u; m < params.m; m++) {
        let slot = m * WORKGROUP_SIZE + thread;
        partial_sums[slot] += partial_sums[slot + stride];
      }
    }
    workgroupBarrier();
  }

  // Thread m writes row m.
  if (thread < params.m) {
    store_y(thread, n, partial_sums[thread * WORKGROUP_SIZE]);
  }
#endif
}
