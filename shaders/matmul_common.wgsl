// Declarations shared by the matmul kernels (matmul_rows, matmul_tiled, matmul_blocked) and the weight
// decoders (quant_*.wgsl). Including this file also includes the decoder that the pipeline's
// WEIGHT_* define selects.
//
// One dispatch computes y[m, n_offset + n] = sum_k x[m, k] * W[n, k] (+ bias[n_offset + n]) for
// the rows n of one weight chunk. A weight matrix larger than the device's storage binding limit
// is split by rows into several chunks, one dispatch each.

struct MatmulParams {
  m: u32,              // rows of x and y (tokens)
  n: u32,              // weight rows in this chunk
  k: u32,              // reduction length, the columns of x
  row_words: u32,      // u32 words per weight row in `w`
  n_offset: u32,       // column of y written by chunk row 0
  n_total: u32,        // columns of y, and its row stride in elements
  groups_per_row: u32, // groups of 8 weights per row: ceil(k / 8)
  workgroups_x: u32,   // dispatch width, used to linearize a 2-D workgroup grid
}

@group(0) @binding(0) var<uniform> params: MatmulParams;
// @binding(1) is x [m, k] f32, row-major, declared by each kernel: as array<f32> through
// matmul_x.wgsl, or as array<vec4<f32>> in matmul_blocked.wgsl.
@group(0) @binding(2) var<storage, read> w: array<u32>;        // [n, row_words] weight rows in the repacked layout
@group(0) @binding(3) var<storage, read> bias: array<f32>;     // [n_total] f32; a 4-byte placeholder when HAS_BIAS is false
@group(0) @binding(4) var<storage, read_write> y: array<f32>;  // [m, n_total] f32, row-major

// Adds bias[n_offset + n] to every output when true.
override HAS_BIAS: bool = false;

// Eight consecutive weights of one row, elements 8 * group + 0..7.
struct Weights8 {
  lo: vec4<f32>,
  hi: vec4<f32>,
}

// Writes one finished output element, adding the bias when the pipeline has one.
fn store_y(m: u32, n: u32, value: f32) {
  let column = params.n_offset + n;
  var result = value;
  if (HAS_BIAS) {
    result += bias[column];
  }
  y[m * params.n_total + column] = result;
}

#include "matmul_weights"
