// The activations x of the "rows" and "tiled" matmul kernels as scalars, so any K works.
// Included after matmul_common.wgsl, which documents the other bindings.

@group(0) @binding(1) var<storage, read> x: array<f32>; // [m, k] f32, row-major

// Returns x[m, k0 + 0..3], with zeros for k >= params.k. `k0` is a multiple of 4.
fn load_x4(m: u32, k0: u32) -> vec4<f32> {
  let base = m * params.k + k0;
  if (k0 + 4u <= params.k) {
    return vec4<f32>(x[base], x[base + 1u], x[base + 2u], x[base + 3u]);
  }
  var v = vec4<f32>(0.0);
  for (var i = 0u; i < 4u; i++) {
    if (k0 + i < params.k) {
      v[i] = x[base + i];
    }
  }
  return v;
}
