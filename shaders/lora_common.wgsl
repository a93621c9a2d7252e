// Structs and constants shared by the two LoRA kernels (lora_shrink.wgsl, lora_expand.wgsl).
//
// One projection W [n, k] has a set of adapter slots. Slot s stores A_s [rank_s, k] at element
// a_offset of the packed A buffer and B_s [n, rank_s] at element b_offset of the packed B buffer,
// both row-major f32. Rank 0 means the slot's adapter does not touch this projection.
//
// The rows of x [m, k] come in row tiles: at most MAX_TILE_ROWS consecutive rows that all use one
// slot. The host cuts each segment (start row, row count, slot) into tiles and leaves out the
// segments without an adapter, so their rows of y keep the base projection unchanged.

#include "common"

struct LoraParams {
  k: u32,            // input features: columns of x and of every A_s
  n: u32,            // output features: columns of y and rows of every B_s
  rank_stride: u32,  // row stride of the scratch t [m, rank_stride]: the largest rank in the set
  tile_count: u32,   // entries of `tiles`
}

struct LoraSlot {
  a_offset: u32,  // element offset of A_s [rank, k] in the packed A buffer
  b_offset: u32,  // element offset of B_s [n, rank] in the packed B buffer
  rank: u32,
  scale: f32,     // multiplier of B_s A_s: alpha / rank times the caller's weight
}

struct LoraTile {
  row_start: u32,  // first row of x and y
  row_count: u32,  // 1 .. MAX_TILE_ROWS
  slot: u32,       // index into the slot table
}

// Rows per tile. Each thread keeps one accumulator per tile row in registers, and WGSL sizes
// private arrays with constants only, so this is a constant rather than an override.
// The host mirrors it as LORA_TILE_ROWS in src/gpu/kernels/lora.ts.
const MAX_TILE_ROWS: u32 = 8u;
