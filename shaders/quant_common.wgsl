// Bit-unpacking helpers shared by the quantized weight decoders (quant_*.wgsl).

// Sign-extends the four int8 values packed in `word`, lowest byte first.
fn unpack_i8x4(word: u32) -> vec4<f32> {
  let bytes = vec4<i32>(
    bitcast<i32>(word << 24u) >> 24u,
    bitcast<i32>(word << 16u) >> 24u,
    bitcast<i32>(word << 8u) >> 24u,
    bitcast<i32>(word) >> 24u,
  );
  return vec4<f32>(bytes);
}

// Returns the low (shift 0) or high (shift 4) nibbles of the four bytes in `word`, lowest first.
fn unpack_nibbles4(word: u32, shift: u32) -> vec4<f32> {
  let nibbles = (vec4<u32>(word) >> (vec4<u32>(0u, 8u, 16u, 24u) + shift)) & vec4<u32>(0xfu);
  return vec4<f32>(nibbles);
}

// Returns byte `index` of the little-endian byte stream that starts at word `first_word` of `w`.
fn byte_at(first_word: u32, index: u32) -> u32 {
  return (w[first_word + index / 4u] >> ((index % 4u) * 8u)) & 0xffu;
}
