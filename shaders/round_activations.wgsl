// Rounds activations the way llama.cpp's CPU backend does before a matrix product with quantized
// weights, so that a forward pass can reproduce llama.cpp's results. Per block of BLOCK_SIZE values
// of one row:
//   Q8_0 (Q8_K false, BLOCK_SIZE 32): amax = max |x|, d = f16(amax / 127),
//       out = d * round_half_even(x * (127 / amax))
//   Q8_K (Q8_K true, BLOCK_SIZE 256): e = the value of largest magnitude (the first one on ties),
//       s = -127 / e, d = 1 / s, out = d * min(127, round_half_even(s * x))
// A block of zeros, or one whose f16 scale d rounds to 0, comes out as zeros. A block with a NaN
// or an infinity comes out as NaN, so the pass's non-finite check still sees it; so does a Q8_0
// block whose scale overflows f16, where llama.cpp's scale is infinite.
//
// Bindings:
//   @binding(0) params: RoundParams   uniform
//   @binding(1) x: array<f32>         [rows, cols] f32, cols a multiple of BLOCK_SIZE
//   @binding(2) out: array<f32>       [rows, cols] f32, a buffer other than x
// Dispatch: ceil(blocks / WORKGROUP_SIZE) workgroups, split with grid2D(), where
// blocks = rows * cols / BLOCK_SIZE; one thread rounds one block.

#include "common"

struct RoundParams {
  blocks: u32,
}

override WORKGROUP_SIZE: u32 = 64u;
override BLOCK_SIZE: u32 = 32u;
override Q8_K: bool = false;

@group(0) @binding(0) var<uniform> params: RoundParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

// Largest finite f16 value; a value that rounds above it becomes infinite in f16.
const F16_MAX = 65504.0;

// Returns true for an infinity or a NaN, read from the bits: a compiler may assume that floats are
// never NaN and fold a `v != v` test away.
fn is_non_finite(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7f800000u) == 0x7f800000u;
}

// Returns the non-negative finite value v rounded to the nearest f16 value, ties to even, as f32,
// or a negative value when the result overflows f16. f16 has 10 fraction bits and a smallest normal
// exponent of -14; below it the step is 2^-24. ldexp scales by powers of two exactly, so only
// round() rounds.
fn round_to_f16(v: f32) -> f32 {
  if (v == 0.0) {
    return 0.0;
  }
  let exponent = i32((bitcast<u32>(v) >> 23u) & 0xffu) - 127;
  let step_exponent = max(exponent, -14) - 10;
  let rounded = ldexp(round(ldexp(v, -step_exponent)), step_exponent);
  return select(rounded, -1.0, rounded > F16_MAX);
}

// Writes `value` over the whole block.
fn fill_block(start: u32, value: f32) {
  for (var i = 0u; i < BLOCK_SIZE; i++) {
    out[start + i] = value;
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(workgroup_id) workgroup_id: vec3<u32>,
  @builtin(num_workgroups) num_workgroups: vec3<u32>,
  @builtin(local_invocation_index) local: u32,
) {
  let block = workgroup_index(workgroup_id, num_workgroups) * WORKGROUP_SIZE + local;
  if (block >= params.blocks) {
    return;
  }
  let start = block * BLOCK_SIZE;

  // A NaN from runtime bits: WGSL rejects a constant one.
  let nan = bitcast<f32>(0x7fc00000u | (params.blocks & 0u));

  // The block's extreme value: signed for Q8_K, magnitude for Q8_0.
  var extreme = 0.0;
  var finite = true;
  for (var i = 0u; i < BLOCK_SIZE; i++) {
    let v = x[start + i];
    finite = finite && !is_non_finite(v);
    if (abs(v) > abs(extreme)) {
      extreme = v;
    }
  }
  if (!finite) {
    fill_block(start, nan);
    return;
  }
  if (extreme == 0.0) {
    fill_block(start, 0.0);
    return;
  }

  if (Q8_K) {
    let inverse_scale = -127.0 / extreme;
    let d = 1.0 / inverse_scale;
    if (d == 0.0) {
      fill_block(start, 0.0);
      return;
    }
    for (var i = 0u; i < BLOCK_SIZE; i++) {
      out[start + i] = d * min(127.0, round(inverse_scale * x[start + i]));
    }
  } else {
    let amax = abs(extreme);
    let d = round_to_f16(amax / 127.0);
    if (d <= 0.0) {
      // 0: every product with this block is 0. Negative: the f16 scale overflowed.
      fill_block(start, select(nan, 0.0, d == 0.0));
      return;
    }
    let inverse = 127.0 / amax;
    for (var i = 0u; i < BLOCK_SIZE; i++) {
      out[start + i] = d * round(x[start + i] * inverse);
    }
  }
}
