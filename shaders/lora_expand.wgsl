// LoRA expand, the second of the two LoRA dispatches (see lora_shrink.wgsl for the split):
//   y[i, c] += scale_s * sum_j B_s[c, j] * t[i, j]   for j < rank_s
// for every row i of every tile, s being the tile's slot. y already holds the base projection
// W x from the matmul kernel, and rows outside every tile stay as they are.
//
// Bindings:
//   @binding(0) params: LoraParams        uniform
//   @binding(1) t: array<f32>             [m, rank_stride] f32, from lora_shrink
//   @binding(2) b: array<f32>             every slot's B_s [n, rank_s] f32, packed
//   @binding(3) slots: array<LoraSlot>    [slot_count]
//   @binding(4) tiles: array<LoraTile>    [tile_count]
//   @binding(5) y: array<f32>             [m, n] f32, updated in place
// Dispatch: (ceil(n / WORKGROUP_SIZE), tile_count) workgroups. Thread l of workgroup (bx, tile)
// owns output column bx * WORKGROUP_SIZE + l for every row of the tile. The workgroup stages
// t for WORKGROUP_SIZE ranks at a time in workgroup memory. Each tile row belongs to exactly one
// tile, so no two workgroups update the same element of y.

#include "lora_common"

override WORKGROUP_SIZE: u32 = 64u;

@group(0) @binding(0) var<uniform> params: LoraParams;
@group(0) @binding(1) var<storage, read> t: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read> slots: array<LoraSlot>;
@group(0) @binding(4) var<storage, read> tiles: array<LoraTile>;
@group(0) @binding(5) var<storage, read_write> y: array<f32>;

// staged_t[r * WORKGROUP_SIZE + j] = t[tile row r, chunk + j].
var<workgroup> staged_t: array<f32, MAX_TILE_ROWS * WORKGROUP_SIZE>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(workgroup_id) workgroup_id: vec3<u32>,
  @builtin(local_invocation_index) local: u32,
) {
  // Every thread of a workgroup reads the same tile and slot, so these returns are uniform.
  let tile_index = workgroup_id.y;
  if (tile_index >= params.tile_count) {
    return;
  }
  let tile = tiles[tile_index];
  let slot = slots[tile.slot];
  let column = workgroup_id.x * WORKGROUP_SIZE + local;
  let in_range = column < params.n;

  var acc: array<f32, MAX_TILE_ROWS>;
  for (var chunk = 0u; chunk < slot.rank; chunk += WORKGROUP_SIZE) {
    let chunk_ranks = min(WORKGROUP_SIZE, slot.rank - chunk);
    if (local < chunk_ranks) {
      for (var r = 0u; r < tile.row_count; r++) {
        staged_t[r * WORKGROUP_SIZE + local] = t[(tile.row_start + r) * params.rank_stride + chunk + local];
      }
    }
    workgroupBarrier();

    if (in_range) {
      let b_row = slot.b_offset + column * slot.rank + chunk;
      for (var j = 0u; j < chunk_ranks; j++) {
        let b_value = b[b_row + j];
        for (var r = 0u; r < tile.row_count; r++) {
          acc[r] += b_value * staged_t[r * WORKGROUP_SIZE + j];
        }
      }
    }
    // The next chunk overwrites staged_t.
    workgroupBarrier();
  }

  if (in_range && slot.rank > 0u) {
    for (var r = 0u; r < tile.row_count; r++) {
      let index = (tile.row_start + r) * params.n + column;
      y[index] += slot.scale * acc[r];
    }
  }
}
