// Weight decoder for Q4_K, included through matmul_weights.wgsl. It uses `w`, `params`
// and `Weights8` from matmul_common.wgsl.
//
// A Q4_K block covers 256 weights in 144 bytes (36 words), used as stored in GGUF:
//   bytes 0..3     d (f16, low half of word 0) and dmin (f16, high half)
//   bytes 4..15    eight 6-bit scales and eight 6-bit mins, packed as described at sub_block_scale_min
//   bytes 16..143  4-bit quants
// The block has eight sub-blocks of 32 weights, weight = d * scale[s] * q - dmin * min[s]. Sub-blocks
// 2c and 2c + 1 share the 32 quant bytes 32c..32c+31: sub-block 2c uses the low nibbles and 2c + 1
// the high nibbles. row_words = 36 * (K / 256).

#include "quant_common"

const Q4_K_BLOCK_WORDS: u32 = 36u;
const Q4_K_SCALE_WORD: u32 = 1u;
const Q4_K_QUANT_WORD: u32 = 4u;

// Returns (scale, min) of sub-block `s` (0..7). Scale bytes 0..3 carry the low 6 bits of scales
// 0..3 and bytes 4..7 those of mins 0..3. For s >= 4, byte s + 4 carries the low 4 bits of the
// scale (low nibble) and of the min (high nibble), and the top 2 bits of bytes s - 4 and s contain
// the high 2 bits of the scale and the min.
fn sub_block_scale_min(block: u32, s: u32) -> vec2<f32> {
  let first = block + Q4_K_SCALE_WORD;
  if (s < 4u) {
    let scale = byte_at(first, s) & 63u;
    let min_value = byte_at(first, s + 4u) & 63u;
    return vec2<f32>(f32(scale), f32(min_value));
  }
  let packed = byte_at(first, s + 4u);
  let scale = (packed & 0xfu) | ((byte_at(first, s - 4u) >> 6u) << 4u);
  let min_value = (packed >> 4u) | ((byte_at(first, s) >> 6u) << 4u);
  return vec2<f32>(f32(scale), f32(min_value));
}

fn decode_group8(row: u32, group: u32) -> Weights8 {
  // 32 groups of 8 per block, four per sub-block.
  let block = row * params.row_words + (group / 32u) * Q4_K_BLOCK_WORDS;
  let in_block = group % 32u;
  let sub_block = in_block / 4u;

  // Byte offset among the quants: 32 bytes per sub-block pair, then 8 bytes per group.
  let quant_byte = (sub_block / 2u) * 32u + (in_block % 4u) * 8u;
  let quant_word = block + Q4_K_QUANT_WORD + quant_byte / 4u;
  let shift = (sub_block % 2u) * 4u;

  let d_dmin = unpack2x16float(w[block]);
  let scale_min = sub_block_scale_min(block, sub_block);
  let scale = d_dmin.x * scale_min.x;
  let offset = vec4<f32>(d_dmin.y * scale_min.y);
  let lo = scale * unpack_nibbles4(w[quant_word], shift) - offset;
  let hi = scale * unpack_nibbles4(w[quant_word + 1u], shift) - offset;
  return Weights8(lo, hi);
}
