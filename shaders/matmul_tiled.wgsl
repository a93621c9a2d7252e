// Tiled prefill matmul: y[m, n] = x[m, :] . W[n, :] (+ bias[n]) for many activation rows.
//
// Bindings: see matmul_common.wgsl (params, x [m, k] f32, w [n, row_words] u32, bias [n_total]
// f32, y [m, n_total] f32). The WEIGHT_* define selects the weight decoder.
// Dispatch: (ceil(n / TILE_N), ceil(m / TILE_M)) workgroups of (WORKGROUP_N, WORKGROUP_M)
// threads. Each workgroup computes a TILE_M x TILE_N block of y, and each thread a
// THREAD_M x THREAD_N sub-block of it with rows strided by WORKGROUP_M and columns by WORKGROUP_N.
// Every tile edge (m, n and k) is guarded, so no size needs to be a multiple of a tile.
//
// With F16 defined (needs shader-f16), the weight tile is stored in f16: decoded weights round
// to 11 significant bits, x stays f32 and the sums accumulate in f32. Activations are not
// narrowed, because hidden-state outliers can exceed the f16 range.

#if F16
enable f16;
#endif

#include "matmul_common"
#include "matmul_x"

#if F16
alias TileWeight = f16;
#else
alias TileWeight = f32;
#endif

// Threads per workgroup along n and along m.
override WORKGROUP_N: u32 = 8u;
override WORKGROUP_M: u32 = 8u;

// Outputs per thread along m and along n. TILE_M = WORKGROUP_M * THREAD_M and
// TILE_N = WORKGROUP_N * THREAD_N.
const THREAD_M: u32 = 4u;
const THREAD_N: u32 = 4u;
// Elements of k per shared-memory step: four groups of 8 weights.
const TILE_K: u32 = 32u;

var<workgroup> x_tile: array<f32, WORKGROUP_M * THREAD_M * TILE_K>; // [TILE_M, TILE_K]
var<workgroup> w_tile: array<TileWeight, WORKGROUP_N * THREAD_N * TILE_K>; // [TILE_N, TILE_K]

// Copies x[m0 .. m0 + TILE_M, k0 .. k0 + TILE_K] into x_tile, zero past m and k.
fn load_x_tile(m0: u32, k0: u32, thread: u32) {
  let vectors_per_row = TILE_K / 4u;
  let threads = WORKGROUP_M * WORKGROUP_N;
  for (var i = thread; i < WORKGROUP_M * THREAD_M * vectors_per_row; i += threads) {
    let row = i / vectors_per_row;
    let column = (i % vectors_per_row) * 4u;
    var values = vec4<f32>(0.0);
    if (m0 + row < params.m) {
      values = load_x4(m0 + row, k0 + column);
    }
    let slot = row * TILE_K + column;
    x_tile[slot] = values.x;
    x_tile[slot + 1u] = values.y;
    x_tile[slot + 2u] = values.z;
    x_tile[slot + 3u] = values.w;
  }
}

// Decodes W[n0 .. n0 + TILE_N, k0 .. k0 + TILE_K] into w_tile, zero past n and the row end.
fn load_w_tile(n0: u32, k0: u32, thread: u32) {
  let groups_per_tile_row = TILE_K / 8u;
  let threads = WORKGROUP_M * WORKGROUP_N;
  for (var i = thread; i < WORKGROUP_N * THREAD_N * groups_per_tile_row; i += threads) {
    let row = i / groups_per_tile_row;
    let group_in_tile = i % groups_per_tile_row;
    let group = k0 / 8u + group_in_tile;
    var weights = Weights8(vec4<f32>(0.0), vec4<f32>(0.0));
    if (n0 + row < params.n && group < params.groups_per_row) {
      weights = decode_group8(n0 + row, group);
    }
    let slot = row * TILE_K + group_in_tile * 8u;
    for (var j = 0u; j < 4u; j++) {
      w_tile[slot + j] = TileWeight(weights.lo[j]);
      w_tile[slot + 4u + j] = TileWeight(weights.hi[j]);
    }
  }
}

@compute @workgroup_size(WORKGROUP_N, WORKGROUP_M)
fn main(
  @builtin(workgroup_id) workgroup_id: vec3<u32>,
  @builtin(local_invocation_id) local_id: vec3<u32>,
  @builtin(local_invocation_index) thread: u32,
) {
  let m0 = workgroup_id.y * WORKGROUP_M * THREAD_M;
  let n0 = workgroup_id.x * WORKGROUP_N * THREAD_N;

  var sums: array<array<f32, THREAD_N>, THREAD_M>; // [THREAD_M, THREAD_N]
  for (var k0 = 0u; k0 < params.k; k0 += TILE_K) {
    load_x_tile(m0, k0, thread);
    load_w_tile(n0, k0, thread);
    workgroupBarrier();

    for (var kk = 0u; kk < TILE_K; kk++) {
      var x_column: array<f32, THREAD_M>;
      for (var i = 0u; i < THREAD_M; i++) {
        x_column[i] = x_tile[(local_id.y + i * WORKGROUP_M) * TILE_K + kk];
      }
      for (var j = 0u; j < THREAD_N; j++) {
        let weight = f32(w_tile[(local_id.x + j * WORKGROUP_N) * TILE_K + kk]);
        for (var i = 0u; i < THREAD_M; i++) {
          sums[i][j] += x_column[i] * weight;
        }
      }
    }
    workgroupBarrier();
  }

  for (var i = 0u; i < THREAD_M; i++) {
    let m = m0 + local_id.y + i * WORKGROUP_M;
    for (var j = 0u; j < THREAD_N; j++) {
      let n = n0 + local_id.x + j * WORKGROUP_N;
      if (m < params.m && n < params.n) {
        store_y(m, n, sums[i][j]);
      }
    }
  }
}
