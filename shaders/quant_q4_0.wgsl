// Weight decoder for Q4_0, included through matmul_weights.wgsl. It uses `w`, `params`
// and `Weights8` from matmul_common.wgsl.
//
// GGUF stores a Q4_0 block as 18 bytes: d (f16) then 16 bytes of quants. Byte j contains element
// j in its low nibble and element j + 16 in its high nibble, and weight[i] = d * (nibble - 8).
// src/gpu/repack.ts repacks each block to 20 bytes (5 words) to keep u32 alignment: word 0
// contains d in its low half, and words 1..4 contain the 16 quant bytes unchanged.
// row_words = 5 * (K / 32).

#include "quant_common"

const Q4_0_BLOCK_WORDS: u32 = 5u;

fn decode_group8(row: u32, group: u32) -> Weights8 {
  // Groups 0 and 1 of a block are the low nibbles of bytes 0..15, groups 2 and 3 the high nibbles.
  let block = row * params.row_words + (group / 4u) * Q4_0_BLOCK_WORDS;
  let in_block = group % 4u;
  let quant_word = block + 1u + (in_block % 2u) * 2u;
  let shift = (in_block / 2u) * 4u;
  let d = unpack2x16float(w[block]).x;
  let lo = unpack_nibbles4(w[quant_word], shift) - vec4<f32>(8.0);
  let hi = unpack_nibbles4(w[quant_word + 1u], shift) - vec4<f32>(8.0);
  return Weights8(d * lo, d * hi);
}
