// Weight decoder for F16 rows, included through matmul_weights.wgsl. It uses `w`, `params`
// and `Weights8` from matmul_common.wgsl.
//
// Layout of `w`: each row contains its K f16 values two per u32 (the lower-indexed element in the low
// half, as the little-endian GGUF bytes read), zero-padded to a multiple of 8 elements, so
// row_words = 4 * groups_per_row.

fn decode_group8(row: u32, group: u32) -> Weights8 {
  let base = row * params.row_words + group * 4u;
  let lo = vec4<f32>(unpack2x16float(w[base]), unpack2x16float(w[base + 1u]));
  let hi = vec4<f32>(unpack2x16float(w[base + 2u]), unpack2x16float(w[base + 3u]));
  return Weights8(lo, hi);
}
