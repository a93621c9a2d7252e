// Weight decoder for Q6_K, included through matmul_weights.wgsl. It uses `w`, `params`
// and `Weights8` from matmul_common.wgsl.
//
// GGUF stores a Q6_K block of 256 weights as 210 bytes: ql (128 bytes, low 4 bits), qh (64 bytes,
// high 2 bits), scales (16 int8), d (f16). src/gpu/repack.ts appends 2 zero bytes so every block
// is 212 bytes (53 words) and stays u32-aligned:
//   words 0..31   ql      words 32..47   qh      words 48..51   scales      word 52   d (low half)
// weight = d * scales[s] * (q - 32) with q the 6-bit value. Each half of 128 weights uses 64 ql
// bytes and 32 qh bytes. Inside a half, quarter j (32 weights) takes ql bytes 0..31 (j = 0, 2) or
// 32..63 (j = 1, 3), low nibbles for j < 2 and high nibbles otherwise, and bits 2j..2j+1 of qh
// bytes 0..31. Scale index = 8 * half + 2 * j + (element % 32) / 16. row_words = 53 * (K / 256).

#include "quant_common"

const Q6_K_BLOCK_WORDS: u32 = 53u;
const Q6_K_HIGH_WORD: u32 = 32u;
const Q6_K_SCALE_WORD: u32 = 48u;
const Q6_K_D_WORD: u32 = 52u;

// Returns six-bit quants minus 32 for four weights: low or high nibbles of `low_word` joined with
// the 2-bit fields at `high_shift` of each byte in `high_word`.
fn combine_q6x4(low_word: u32, nibble_shift: u32, high_word: u32, high_shift: u32) -> vec4<f32> {
  let byte_shifts = vec4<u32>(0u, 8u, 16u, 24u);
  let low = (vec4<u32>(low_word) >> (byte_shifts + nibble_shift)) & vec4<u32>(0xfu);
  let high = (vec4<u32>(high_word) >> (byte_shifts + high_shift)) & vec4<u32>(3u);
  return vec4<f32>(low | (high << vec4<u32>(4u))) - vec4<f32>(32.0);
}

fn decode_group8(row: u32, group: u32) -> Weights8 {
  // 32 groups of 8 per block: 16 per half, 4 per quarter.
  let block = row * params.row_words + (group / 32u) * Q6_K_BLOCK_WORDS;
  let in_block = group % 32u;
  let half_index = in_block / 16u;
  let quarter = (in_block % 16u) / 4u;
  let l = (in_block % 4u) * 8u; // first element inside the quarter, 0..24

  let low_byte = half_index * 64u + (quarter % 2u) * 32u + l;
  let high_byte = half_index * 32u + l;
  let low_word = block + low_byte / 4u;
  let high_word = block + Q6_K_HIGH_WORD + high_byte / 4u;
  let nibble_shift = (quarter / 2u) * 4u;
  let high_shift = quarter * 2u;

  let scale_index = half_index * 8u + quarter * 2u + l / 16u;
  let scale_byte = byte_at(block + Q6_K_SCALE_WORD, scale_index);
  let scale = f32(bitcast<i32>(scale_byte << 24u) >> 24u);
  let d = unpack2x16float(w[block + Q6_K_D_WORD]).x;

  let lo = combine_q6x4(w[low_word], nibble_shift, w[high_word], high_shift);
  let hi = combine_q6x4(w[low_word + 1u], nibble_shift, w[high_word + 1u], high_shift);
  return Weights8(d * scale * lo, d * scale * hi);
}
