// Log-softmax of one vector: out[k] = x[k] - max(x) - log(sum_j exp(x[j] - max(x))).
//
// Bindings:
//   @binding(0) params: LogSoftmaxParams   uniform
//   @binding(1) x: array<f32>              [n] f32
//   @binding(2) out: array<f32>            [n] f32
// Dispatch: a single workgroup whose threads stride over x for the max, then for the sum.
// WORKGROUP_SIZE must be a power of two.

struct LogSoftmaxParams {
  n: u32,
}

override WORKGROUP_SIZE: u32 = 256u;

// The lowest finite f32, the starting max (a WGSL constant cannot be -inf).
const LOWEST: f32 = -0x1.fffffep+127f;

@group(0) @binding(0) var<uniform> params: LogSoftmaxParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

var<workgroup> reduction: array<f32, WORKGROUP_SIZE>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(local_invocation_index) local: u32) {
  var thread_max = LOWEST;
  for (var k = local; k < params.n; k += WORKGROUP_SIZE) {
    thread_max = max(thread_max, x[k]);
  }
  reduction[local] = thread_max;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride /= 2u) {
    if (local < stride) {
      reduction[local] = max(reduction[local], reduction[local + stride]);
    }
    workgroupBarrier();
  }
  let x_max = reduction[0];
  workgroupBarrier();

  var thread_sum = 0.0;
  for (var k = local; k < params.n; k += WORKGROUP_SIZE) {
    thread_sum += exp(x[k] - x_max);
  }
  reduction[local] = thread_sum;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride /= 2u) {
    if (local < stride) {
      reduction[local] += reduction[local + stride];
    }
    workgroupBarrier();
  }
  let log_sum = log(reduction[0]);

  for (var k = local; k < params.n; k += WORKGROUP_SIZE) {
    out[k] = x[k] - x_max - log_sum;
  }
}
