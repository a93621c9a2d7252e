// Weight decoder for Q8_0, included through matmul_weights.wgsl. It uses `w`, `params`
// and `Weights8` from matmul_common.wgsl.
//
// GGUF stores a Q8_0 block as 34 bytes: d (f16) then 32 int8 quants, weight[i] = d * q[i].
// Thirty-four bytes do not keep u32 alignment, so src/gpu/repack.ts repacks each block to
// 36 bytes (9 words): word 0 contains d in its low half and zero in its high half, and words
// 1..8 contain the 32 quants in their original byte order. row_words = 9 * (K / 32).

#include "quant_common"

const Q8_0_BLOCK_WORDS: u32 = 9u;

fn decode_group8(row: u32, group: u32) -> Weights8 {
  // Four groups of 8 per 32-element block.
  let block = row * params.row_words + (group / 4u) * Q8_0_BLOCK_WORDS;
  let quant_word = block + 1u + (group % 4u) * 2u;
  let d = unpack2x16float(w[block]).x;
  return Weights8(d * unpack_i8x4(w[quant_word]), d * unpack_i8x4(w[quant_word + 1u]));
}
