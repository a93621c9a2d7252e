// Weight decoder for F32 rows, included through matmul_weights.wgsl. It uses `w`, `params`
// and `Weights8` from matmul_common.wgsl.
//
// Layout of `w`: each row contains its K floats as u32 bits, zero-padded to a multiple of 8
// elements, so row_words = 8 * groups_per_row.

fn decode_group8(row: u32, group: u32) -> Weights8 {
  let base = row * params.row_words + group * 8u;
  let lo = vec4<u32>(w[base], w[base + 1u], w[base + 2u], w[base + 3u]);
  let hi = vec4<u32>(w[base + 4u], w[base + 5u], w[base + 6u], w[base + 7u]);
  return Weights8(bitcast<vec4<f32>>(lo), bitcast<vec4<f32>>(hi));
}
