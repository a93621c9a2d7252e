// LoRA shrink, the first of two dispatches that add a per-row adapter delta to a projection:
//   t[i, j] = sum_c A_s[j, c] * x[i, c]   for j < rank_s
// for every row i of every tile, s being the tile's slot. lora_expand.wgsl then adds
// scale_s * B_s t[i] to y[i]. W + scale_s * B_s A_s is never formed.
//
// Why two dispatches rather than one fused kernel: a fused kernel would have each workgroup of
// output columns recompute A_s x_i, repeating rank * k multiply-adds once per column block. The
// split computes A_s x_i once per row into the small scratch t [m, rank_stride], which the expand
// dispatch then reads (rank values per row).
//
// Bindings:
//   @binding(0) params: LoraParams        uniform
//   @binding(1) x: array<f32>             [m, k] f32
//   @binding(2) a: array<f32>             every slot's A_s [rank_s, k] f32, packed
//   @binding(3) slots: array<LoraSlot>    [slot_count]
//   @binding(4) tiles: array<LoraTile>    [tile_count]
//   @binding(5) t: array<f32>             [m, rank_stride] f32, only the tiles' rows and the
//                                         first rank_s columns are written
// Dispatch: one workgroup per tile, tile_count workgroups split with grid2D(). The workgroup
// walks the ranks RANK_CHUNK at a time. Thread l sums columns l, l + WORKGROUP_SIZE, ... of x
// for every (tile row, rank) pair of the chunk, and then thread p < TILE_PARTIALS adds up
// pair p over all threads. WORKGROUP_SIZE must be at least TILE_PARTIALS.

#include "lora_common"

override WORKGROUP_SIZE: u32 = 64u;

// Ranks per pass over x. It sizes per-thread arrays, so it is a constant (see MAX_TILE_ROWS).
const RANK_CHUNK: u32 = 4u;

// (tile row, rank) pairs of one chunk: one register accumulator each.
const TILE_PARTIALS: u32 = MAX_TILE_ROWS * RANK_CHUNK;

@group(0) @binding(0) var<uniform> params: LoraParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> slots: array<LoraSlot>;
@group(0) @binding(4) var<storage, read> tiles: array<LoraTile>;
@group(0) @binding(5) var<storage, read_write> t: array<f32>;

// partial_sums[p * WORKGROUP_SIZE + l] is thread l's share of pair p.
var<workgroup> partial_sums: array<f32, TILE_PARTIALS * WORKGROUP_SIZE>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(workgroup_id) workgroup_id: vec3<u32>,
  @builtin(num_workgroups) num_workgroups: vec3<u32>,
  @builtin(local_invocation_index) local: u32,
) {
  // Every thread of a workgroup reads the same tile and slot, so these returns are uniform.
  let tile_index = workgroup_index(workgroup_id, num_workgroups);
  if (tile_index >= params.tile_count) {
    return;
  }
  let tile = tiles[tile_index];
  let slot = slots[tile.slot];
  let k = params.k;

  for (var chunk = 0u; chunk < slot.rank; chunk += RANK_CHUNK) {
    let chunk_ranks = min(RANK_CHUNK, slot.rank - chunk);

    // Partial dot products over this thread's columns, pair (row r, rank j) at r * RANK_CHUNK + j.
    // WGSL zero-initializes a var at its declaration, but Dawn on SwiftShader (npm webgpu 0.6.2)
    // kept the previous chunk's values here, so the loop below zeroes it explicitly.
    var acc: array<f32, TILE_PARTIALS>;
    for (var p = 0u; p < TILE_PARTIALS; p++) {
      acc[p] = 0.0;
    }
    for (var column = local; column < k; column += WORKGROUP_SIZE) {
      var a_values: array<f32, RANK_CHUNK>;
      for (var j = 0u; j < chunk_ranks; j++) {
        a_values[j] = a[slot.a_offset + (chunk + j) * k + column];
      }
      for (var r = 0u; r < tile.row_count; r++) {
        let x_value = x[(tile.row_start + r) * k + column];
        for (var j = 0u; j < chunk_ranks; j++) {
          acc[r * RANK_CHUNK + j] += a_values[j] * x_value;
        }
      }
    }

    for (var p = 0u; p < TILE_PARTIALS; p++) {
      partial_sums[p * WORKGROUP_SIZE + local] = acc[p];
    }
    workgroupBarrier();

    let r = local / RANK_CHUNK;
    let j = local % RANK_CHUNK;
    if (local < TILE_PARTIALS && r < tile.row_count && j < chunk_ranks) {
      var sum = 0.0;
      for (var l = 0u; l < WORKGROUP_SIZE; l++) {
        sum += partial_sums[local * WORKGROUP_SIZE + l];
      }
      t[(tile.row_start + r) * params.rank_stride + chunk + j] = sum;
    }
    // The next chunk overwrites partial_sums.
    workgroupBarrier();
  }
}
