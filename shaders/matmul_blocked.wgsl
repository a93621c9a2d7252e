// Register-blocked matmul without workgroup memory: y[m, n] = x[m, :] . W[n, :] (+ bias[n]), any M.
// It suits CPU implementations of WebGPU: on SwiftShader it took 7 to 14 times less CPU time than
// matmul_tiled.wgsl for the Q8_0 SmolLM2-135M matrices at M = 64 and 256.
//
// Bindings: see matmul_common.wgsl (params, w [n, row_words] u32, bias [n_total] f32, y [m, n_total]
// f32). x [m, k] f32 is bound here as vec4 values, [m, k / 4], so K must be a multiple of 8
// (every quantized type's K is). The WEIGHT_* define selects the weight decoder.
// Dispatch: (ceil(ceil(n / THREAD_N) / WORKGROUP_N), ceil(ceil(m / THREAD_M) / WORKGROUP_M))
// workgroups of (WORKGROUP_N, WORKGROUP_M) threads. Thread (tn, tm) of the grid computes the
// THREAD_M x THREAD_N block of y at rows tm * THREAD_M + 0..THREAD_M-1 and columns
// tn * THREAD_N + 0..THREAD_N-1. It decodes each group of 8 weights once and uses it for all
// THREAD_M rows. Rows and columns past m and n read clamped indices and skip the store.

#include "matmul_common"

@group(0) @binding(1) var<storage, read> x: array<vec4<f32>>; // [m, k / 4] vec4<f32>, row-major

// Threads per workgroup along n and along m.
override WORKGROUP_N: u32 = 16u;
override WORKGROUP_M: u32 = 4u;

// Outputs per thread along m (4 or 8) and along n. Eight rows share each decoded weight among
// twice the outputs, and four waste less work when M is small. The rows are unrolled by hand:
// on SwiftShader (Subzero JIT) that ran about twice as fast as loops over private arrays.
override THREAD_M: u32 = 8u;
const THREAD_N: u32 = 4u;

// Returns sum_k x8[k] * W[c, k] over one group of 8 elements, for the four columns c of `w0..w3`.
fn dot4(w0: Weights8, w1: Weights8, w2: Weights8, w3: Weights8, x8: Weights8) -> vec4<f32> {
  return vec4<f32>(
    dot(w0.lo, x8.lo) + dot(w0.hi, x8.hi),
    dot(w1.lo, x8.lo) + dot(w1.hi, x8.hi),
    dot(w2.lo, x8.lo) + dot(w2.hi, x8.hi),
    dot(w3.lo, x8.lo) + dot(w3.hi, x8.hi),
  );
}

// Returns x[m, 8 * group + 0..7] as two vec4 values, in the Weights8 struct for want of a pair type.
fn load_x8(m: u32, group: u32) -> Weights8 {
  let index = m * (params.k / 4u) + 2u * group;
  return Weights8(x[index], x[index + 1u]);
}

// Stores the finished outputs y[m, n0 + 0..3] that lie inside the matrix.
fn store_y4(m: u32, n0: u32, sums: vec4<f32>) {
  if (m >= params.m) {
    return;
  }
  for (var j = 0u; j < THREAD_N; j++) {
    if (n0 + j < params.n) {
      store_y(m, n0 + j, sums[j]);
    }
  }
}

@compute @workgroup_size(WORKGROUP_N, WORKGROUP_M)
fn main(@builtin(global_invocation_id) global_id: vec3<u32>) {
  let m0 = global_id.y * THREAD_M;
  let n0 = global_id.x * THREAD_N;
  if (m0 >= params.m || n0 >= params.n) {
    return;
  }

  // Clamped indices keep every load in bounds without a branch per element.
  let last_m = params.m - 1u;
  let last_n = params.n - 1u;
  let m1 = min(m0 + 1u, last_m);
  let m2 = min(m0 + 2u, last_m);
  let m3 = min(m0 + 3u, last_m);
  let m4 = min(m0 + 4u, last_m);
  let m5 = min(m0 + 5u, last_m);
  let m6 = min(m0 + 6u, last_m);
  let m7 = min(m0 + 7u, last_m);
  let n1 = min(n0 + 1u, last_n);
  let n2 = min(n0 + 2u, last_n);
  let n3 = min(n0 + 3u, last_n);

  // sums_i[j] is y[m0 + i, n0 + j].
  var sums_0 = vec4<f32>(0.0);
  var sums_1 = vec4<f32>(0.0);
  var sums_2 = vec4<f32>(0.0);
  var sums_3 = vec4<f32>(0.0);
  var sums_4 = vec4<f32>(0.0);
  var sums_5 = vec4<f32>(0.0);
  var sums_6 = vec4<f32>(0.0);
  var sums_7 = vec4<f32>(0.0);
  for (var group = 0u; group < params.groups_per_row; group++) {
    let w0 = decode_group8(n0, group);
    let w1 = decode_group8(n1, group);
    let w2 = decode_group8(n2, group);
    let w3 = decode_group8(n3, group);

    sums_0 += dot4(w0, w1, w2, w3, load_x8(m0, group));
    sums_1 += dot4(w0, w1, w2, w3, load_x8(m1, group));
    sums_2 += dot4(w0, w1, w2, w3, load_x8(m2, group));
    sums_3 += dot4(w0, w1, w2, w3, load_x8(m3, group));
    if (THREAD_M == 8u) {
      sums_4 += dot4(w0, w1, w2, w3, load_x8(m4, group));
      sums_5 += dot4(w0, w1, w2, w3, load_x8(m5, group));
      sums_6 += dot4(w0, w1, w2, w3, load_x8(m6, group));
      sums_7 += dot4(w0, w1, w2, w3, load_x8(m7, group));
    }
  }

  store_y4(m0, n0, sums_0);
  store_y4(m0 + 1u, n0, sums_1);
  store_y4(m0 + 2u, n0, sums_2);
  store_y4(m0 + 3u, n0, sums_3);
  if (THREAD_M == 8u) {
    store_y4(m0 + 4u, n0, sums_4);
    store_y4(m0 + 5u, n0, sums_5);
    store_y4(m0 + 6u, n0, sums_6);
    store_y4(m0 + 7u, n0, sums_7);
  }
}
