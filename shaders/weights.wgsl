// Reads one element of a weight matrix stored in a GGUF tensor type, straight from the tensor's
// bytes. Included with #include "weights" by kernels that gather rows (embedding, class logits).
//
// The including shader declares `weights: array<u32>`, the tensor bytes as little-endian u32 words
// (zero-padded to a multiple of 4 bytes), and enables exactly one WEIGHT_* define. A row of `cols`
// elements occupies cols / block_size * block_bytes bytes, so `row_start` (the row's byte offset)
// is a multiple of 2 for every type here and every f16 field starts at an even byte.
//
// Block layouts, little-endian, as in ggml:
//   F32                 4 bytes per element
//   F16                 2 bytes per element
//   Q8_0   34 bytes:    d: f16 | qs: i8[32]                           x = d * qs[e]
//   Q4_0   18 bytes:    d: f16 | qs: u8[16]                           x = d * (nibble - 8), byte e % 16, low nibble for e < 16
//   Q4_K  144 bytes:    d: f16 | dmin: f16 | scales: u8[12] | qs: u8[128]
//                       x = d * sc[s] * nibble - dmin * m[s] for sub-block s of 32 elements
//   Q6_K  210 bytes:    ql: u8[128] | qh: u8[64] | scales: i8[16] | d: f16
//                       x = d * scales[s] * (q - 32), q = 4 bits from ql | 2 bits from qh

// Returns byte `index` of the weights buffer.
fn weight_byte(index: u32) -> u32 {
  return (weights[index >> 2u] >> ((index & 3u) * 8u)) & 0xffu;
}

// Returns byte `index` as a signed 8-bit integer.
fn weight_i8(index: u32) -> i32 {
  return i32(weight_byte(index) << 24u) >> 24u;
}

// Returns the f16 at the even byte `index`, decoded with unpack2x16float so no shader-f16 is needed.
fn weight_f16(index: u32) -> f32 {
  let halves = unpack2x16float(weights[index >> 2u]);
  return select(halves.x, halves.y, (index & 2u) != 0u);
}

// Returns the u32 that starts at the even byte `index`, joining two words when index % 4 == 2.
fn weight_u32_at_even(index: u32) -> u32 {
  let word = index >> 2u;
  if ((index & 2u) == 0u) {
    return weights[word];
  }
  return (weights[word] >> 16u) | (weights[word + 1u] << 16u);
}

// weight_at4(row_start, col) returns the elements col .. col + 3 of a row, for col % 4 == 0. The
// four elements always share one block, because every block size here is 1 or a multiple of 4.

#if WEIGHT_F32
const WEIGHT_BLOCK_SIZE: u32 = 1u;
const WEIGHT_BLOCK_BYTES: u32 = 4u;

fn weight_at(row_start: u32, col: u32) -> f32 {
  return bitcast<f32>(weights[(row_start >> 2u) + col]);
}

fn weight_at4(row_start: u32, col: u32) -> vec4<f32> {
  let word = (row_start >> 2u) + col;
  return bitcast<vec4<f32>>(vec4<u32>(weights[word], weights[word + 1u], weights[word + 2u], weights[word + 3u]));
}
#endif

#if WEIGHT_F16
const WEIGHT_BLOCK_SIZE: u32 = 1u;
const WEIGHT_BLOCK_BYTES: u32 = 2u;

fn weight_at(row_start: u32, col: u32) -> f32 {
  return weight_f16(row_start + 2u * col);
}

fn weight_at4(row_start: u32, col: u32) -> vec4<f32> {
  let first = row_start + 2u * col;
  return vec4<f32>(unpack2x16float(weight_u32_at_even(first)), unpack2x16float(weight_u32_at_even(first + 4u)));
}
#endif

#if WEIGHT_Q8_0
const WEIGHT_BLOCK_SIZE: u32 = 32u;
const WEIGHT_BLOCK_BYTES: u32 = 34u;

fn weight_at(row_start: u32, col: u32) -> f32 {
  let block = row_start + (col / 32u) * 34u;
  return weight_f16(block) * f32(weight_i8(block + 2u + col % 32u));
}

fn weight_at4(row_start: u32, col: u32) -> vec4<f32> {
  let block = row_start + (col / 32u) * 34u;
  let packed = weight_u32_at_even(block + 2u + col % 32u);
  let quants = vec4<i32>(
    bitcast<i32>(packed << 24u) >> 24u,
    bitcast<i32>(packed << 16u) >> 24u,
    bitcast<i32>(packed << 8u) >> 24u,
    bitcast<i32>(packed) >> 24u,
  );
  return weight_f16(block) * vec4<f32>(quants);
}
#endif

#if WEIGHT_Q4_0
const WEIGHT_BLOCK_SIZE: u32 = 32u;
const WEIGHT_BLOCK_BYTES: u32 = 18u;

fn weight_at(row_start: u32, col: u32) -> f32 {
  let block = row_start + (col / 32u) * 18u;
  let e = col % 32u;
  let packed = weight_byte(block + 2u + e % 16u);
  let nibble = select(packed & 15u, packed >> 4u, e >= 16u);
  return weight_f16(block) * (f32(nibble) - 8.0);
}

fn weight_at4(row_start: u32, col: u32) -> vec4<f32> {
  let block = row_start + (col / 32u) * 18u;
  let e = col % 32u;
  let packed = weight_u32_at_even(block + 2u + e % 16u);
  let shift = select(0u, 4u, e >= 16u);
  let nibbles = (vec4<u32>(packed) >> (vec4<u32>(0u, 8u, 16u, 24u) + shift)) & vec4<u32>(15u);
  return weight_f16(block) * (vec4<f32>(nibbles) - vec4<f32>(8.0));
}
#endif

#if WEIGHT_Q4_K
const WEIGHT_BLOCK_SIZE: u32 = 256u;
const WEIGHT_BLOCK_BYTES: u32 = 144u;

// Returns the 6-bit scale and min of sub-block `s` (0..7) from the 12 scale bytes at `scales`:
// sub-blocks 0-3 use the low 6 bits of bytes s and s + 4. Sub-blocks 4-7 take their low 4 bits
// from byte s + 4 (scale low nibble, min high nibble) and their top 2 bits from the top bits of
// bytes s - 4 (scale) and s (min).
fn q4_k_scale_min(scales: u32, s: u32) -> vec2<f32> {
  if (s < 4u) {
    return vec2<f32>(f32(weight_byte(scales + s) & 63u), f32(weight_byte(scales + s + 4u) & 63u));
  }
  let low = weight_byte(scales + s + 4u);
  let scale = (low & 15u) | ((weight_byte(scales + s - 4u) >> 6u) << 4u);
  let min = (low >> 4u) | ((weight_byte(scales + s) >> 6u) << 4u);
  return vec2<f32>(f32(scale), f32(min));
}

fn weight_at(row_start: u32, col: u32) -> f32 {
  let block = row_start + (col / 256u) * 144u;
  let e = col % 256u;

  // Each 64-element chunk c uses qs[32c .. 32c + 31]: low nibbles for sub-block 2c, high nibbles for 2c + 1.
  let chunk = e / 64u;
  let high = (e % 64u) >= 32u;
  let packed = weight_byte(block + 16u + chunk * 32u + e % 32u);
  let nibble = select(packed & 15u, packed >> 4u, high);

  let scale_min = q4_k_scale_min(block + 4u, 2u * chunk + select(0u, 1u, high));
  let d = weight_f16(block) * scale_min.x;
  let m = weight_f16(block + 2u) * scale_min.y;
  return d * f32(nibble) - m;
}

fn weight_at4(row_start: u32, col: u32) -> vec4<f32> {
  return vec4<f32>(weight_at(row_start, col), weight_at(row_start, col + 1u), weight_at(row_start, col + 2u), weight_at(row_start, col + 3u));
}
#endif

#if WEIGHT_Q6_K
const WEIGHT_BLOCK_SIZE: u32 = 256u;
const WEIGHT_BLOCK_BYTES: u32 = 210u;

fn weight_at(row_start: u32, col: u32) -> f32 {
  let block = row_start + (col / 256u) * 210u;
  let e = col % 256u;

  // Each 128-element half h uses ql[64h ..], qh[32h ..] and scales[8h ..]. Within a half, quarter
  // g = 0..3 of 32 elements takes its low 4 bits from ql[l + 32 * (g % 2)] (low nibble for g < 2)
  // and its high 2 bits from bits 2g, 2g + 1 of qh[l].
  let h = e / 128u;
  let g = (e % 128u) / 32u;
  let l = e % 32u;
  let low_byte = weight_byte(block + 64u * h + l + 32u * (g & 1u));
  let low = select(low_byte & 15u, low_byte >> 4u, g >= 2u);
  let high = (weight_byte(block + 128u + 32u * h + l) >> (2u * g)) & 3u;
  let q = i32(low | (high << 4u)) - 32;

  let scale = weight_i8(block + 192u + 8u * h + l / 16u + 2u * g);
  return weight_f16(block + 208u) * f32(scale) * f32(q);
}

fn weight_at4(row_start: u32, col: u32) -> vec4<f32> {
  return vec4<f32>(weight_at(row_start, col), weight_at(row_start, col + 1u), weight_at(row_start, col + 2u), weight_at(row_start, col + 3u));
}
#endif
