// Causal grouped-query attention for a prefill batch against a KV cache:
//   out[i, h, :] = sum_{j <= p0 + i} softmax_j(scale * q[i, h, :] . k[j, kv, :]) * v[j, kv, :]
// with kv = h / (n_head / n_head_kv). Query i sits at absolute position p0 + i, and the cache
// rows 0 .. p0 + i must already hold the keys and values of those positions.
//
// SUFFIX_SEGMENTS variant, for a batch of suffixes that share one cached prefix: the query rows
// stack S segments, and every segment's first row sits at absolute position p0 (the prefix
// length). Query i of a segment starting at batch row s0 attends to the prefix keys 0 .. p0 - 1
// and to its own segment's rows s0 .. i, never to another segment:
//   keys(i) = prefix rows 0 .. p0 - 1, then cache rows suffix_start + s0 .. suffix_start + i
// The suffix keys and values of all segments sit in the same cache buffers as the prefix, stacked
// like the queries from row suffix_start (>= p0) on.
//
// Softmax is computed online over tiles of WORKGROUP_SIZE keys: a running max m and running sum l,
// and each new tile rescales l and the output accumulator by exp(m_old - m_new). No score matrix
// is stored beyond one tile per workgroup.
//
// Bindings:
//   @binding(0) params: AttentionParams   uniform
//   @binding(1) q: array<f32>             [tokens, n_head, head_dim] f32
//   @binding(2) k_cache: array<f32>       [n_ctx, n_head_kv, head_dim] f32
//   @binding(3) v_cache: array<f32>       [n_ctx, n_head_kv, head_dim] f32
//   @binding(4) out: array<f32>           [tokens, n_head, head_dim] f32
//   @binding(5) segment_starts: array<u32> [tokens] u32, SUFFIX_SEGMENTS only: the batch row of the
//                                          first row of each query's segment
// Dispatch: one workgroup per (query, head), tokens * n_head workgroups split with grid2D().
// Thread t scores key tile + t, then owns output dimensions t, t + WORKGROUP_SIZE, ... so
// head_dim <= MAX_DIMS_PER_THREAD * WORKGROUP_SIZE. WORKGROUP_SIZE must be a power of two.

#include "common"

struct AttentionParams {
  tokens: u32,
  n_head: u32,
  n_head_kv: u32,
  head_dim: u32,
  p0: u32,       // absolute position of query 0
  scale: f32,    // usually 1 / sqrt(head_dim)
#if SUFFIX_SEGMENTS
  suffix_start: u32,  // cache row of batch row 0
#endif
}

override WORKGROUP_SIZE: u32 = 64u;
const MAX_DIMS_PER_THREAD: u32 = 4u;

// The lowest finite f32. It stands in for -inf as the starting running max, because a WGSL
// constant cannot be infinite: exp(LOWEST - m) is 0 for any score m, as it would be for -inf.
const LOWEST: f32 = -0x1.fffffep+127f;

@group(0) @binding(0) var<uniform> params: AttentionParams;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k_cache: array<f32>;
@group(0) @binding(3) var<storage, read> v_cache: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
#if SUFFIX_SEGMENTS
@group(0) @binding(5) var<storage, read> segment_starts: array<u32>;

// Returns the cache row of key index `key` (0 .. p0 + i - s0) for a query whose segment starts at
// batch row s0 = segment_start.
fn cache_row(key: u32, segment_start: u32) -> u32 {
  if (key < params.p0) {
    return key;
  }
  return params.suffix_start + segment_start + (key - params.p0);
}
#else

// Returns the cache row of key index `key`: keys are the cache rows 0 .. p0 + i themselves.
fn cache_row(key: u32, segment_start: u32) -> u32 {
  return key;
}
#endif

var<workgroup> query_vector: array<f32, MAX_DIMS_PER_THREAD * WORKGROUP_SIZE>;  // q[query, head, :] times scale
var<workgroup> probabilities: array<f32, WORKGROUP_SIZE>;  // exp(score - m_new) of the current tile
var<workgroup> reduction: array<f32, WORKGROUP_SIZE>;

// Returns the max over the workgroup of each thread's `value`. Call from uniform control flow.
fn workgroup_max(local: u32, value: f32) -> f32 {
  reduction[local] = value;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride /= 2u) {
    if (local < stride) {
      reduction[local] = max(reduction[local], reduction[local + stride]);
    }
    workgroupBarrier();
  }
  let result = reduction[0];
  workgroupBarrier();
  return result;
}

// Returns the sum over the workgroup of each thread's `value`. Call from uniform control flow.
fn workgroup_sum(local: u32, value: f32) -> f32 {
  reduction[local] = value;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride /= 2u) {
    if (local < stride) {
      reduction[local] += reduction[local + stride];
    }
    workgroupBarrier();
  }
  let result = reduction[0];
  workgroupBarrier();
  return result;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn main(
  @builtin(workgroup_id) workgroup_id: vec3<u32>,
  @builtin(num_workgroups) num_workgroups: vec3<u32>,
  @builtin(local_invocation_index) local: u32,
) {
  let query_head = workgroup_index(workgroup_id, num_workgroups);
  if (query_head >= params.tokens * params.n_head) {
    return;
  }
  let query = query_head / params.n_head;
  let head = query_head % params.n_head;
  let kv_head = head / (params.n_head / params.n_head_kv);
  let d = params.head_dim;
  let q_base = query_head * d;
  let kv_stride = params.n_head_kv * d;
#if SUFFIX_SEGMENTS
  let segment_start = segment_starts[query];
#else
  let segment_start = 0u;
#endif
  let n_keys = params.p0 + query - segment_start + 1u;

  // Every thread reads the whole query for each of its keys, so it is loaded once, pre-scaled.
  var acc: array<f32, MAX_DIMS_PER_THREAD>;
  for (var r = 0u; r < MAX_DIMS_PER_THREAD; r++) {
    acc[r] = 0.0;
    let c = local + r * WORKGROUP_SIZE;
    if (c < d) {
      query_vector[c] = q[q_base + c] * params.scale;
    }
  }
  workgroupBarrier();
  var running_max = LOWEST;
  var running_sum = 0.0;

  for (var tile = 0u; tile < n_keys; tile += WORKGROUP_SIZE) {
    // Score of key tile + local; keys past the causal limit are masked.
    let key = tile + local;
    let valid = key < n_keys;
    var score = LOWEST;
    if (valid) {
      let k_base = cache_row(key, segment_start) * kv_stride + kv_head * d;
      var dot = 0.0;
      for (var c = 0u; c < d; c++) {
        dot += query_vector[c] * k_cache[k_base + c];
      }
      score = dot;
    }

    // Every tile holds at least one valid key, so new_max is a real score.
    let new_max = max(running_max, workgroup_max(local, score));
    let correction = exp(running_max - new_max);
    let p = select(0.0, exp(score - new_max), valid);
    probabilities[local] = p;
    running_sum = running_sum * correction + workgroup_sum(local, p);
    running_max = new_max;

    // workgroup_sum ended with a barrier, so every probability of the tile is visible here.
    let tile_keys = min(WORKGROUP_SIZE, n_keys - tile);
    for (var r = 0u; r < MAX_DIMS_PER_THREAD; r++) {
      let c = local + r * WORKGROUP_SIZE;
      if (c < d) {
        var weighted = acc[r] * correction;
        for (var j = 0u; j < tile_keys; j++) {
          weighted += probabilities[j] * v_cache[cache_row(tile + j, segment_start) * kv_stride + kv_head * d + c];
        }
        acc[r] = weighted;
      }
    }
    workgroupBarrier();
  }

  for (var r = 0u; r < MAX_DIMS_PER_THREAD; r++) {
    let c = local + r * WORKGROUP_SIZE;
    if (c < d) {
      out[q_base + c] = acc[r] / running_sum;
    }
  }
}

// Per-query entry point for CPU implementations of WebGPU such as SwiftShader, where the barriers
// of `main` each cost a thread switch. One thread computes one (query, head) pair alone, with no
// workgroup memory or barriers: it walks the keys once with an online softmax and keeps the output
// row in private memory. It reads q, k_cache, v_cache and out as vec4 values through the aliases
// below, so head_dim must be a multiple of 4 and at most MAX_HEAD_DIM.
// Dispatch: ceil(tokens * n_head / WORKGROUP_SIZE) workgroups, split with grid2D().
const MAX_HEAD_DIM: u32 = MAX_DIMS_PER_THREAD * 64u;

// The bindings of `main` seen as vec4 values; WGSL allows the aliases because no entry point uses
// both names of one binding.
@group(0) @binding(1) var<storage, read> q4: array<vec4<f32>>;            // [tokens, n_head, head_dim / 4]
@group(0) @binding(2) var<storage, read> k_cache4: array<vec4<f32>>;      // [n_ctx, n_head_kv, head_dim / 4]
@group(0) @binding(3) var<storage, read> v_cache4: array<vec4<f32>>;      // [n_ctx, n_head_kv, head_dim / 4]
@group(0) @binding(4) var<storage, read_write> out4: array<vec4<f32>>;    // [tokens, n_head, head_dim / 4]

@compute @workgroup_size(WORKGROUP_SIZE)
fn main_per_query(
  @builtin(workgroup_id) workgroup_id: vec3<u32>,
  @builtin(num_workgroups) num_workgroups: vec3<u32>,
  @builtin(local_invocation_index) local: u32,
) {
  let query_head = workgroup_index(workgroup_id, num_workgroups) * WORKGROUP_SIZE + local;
  if (query_head >= params.tokens * params.n_head) {
    return;
  }
  let query = query_head / params.n_head;
  let head = query_head % params.n_head;
  let d4 = params.head_dim / 4u;
  let kv_offset = (head / (params.n_head / params.n_head_kv)) * d4;
  let q_base = query_head * d4;
  let kv_stride = params.n_head_kv * d4;
#if SUFFIX_SEGMENTS
  let segment_start = segment_starts[query];
#else
  let segment_start = 0u;
#endif
  let n_keys = params.p0 + query - segment_start + 1u;

  var query_vector: array<vec4<f32>, MAX_HEAD_DIM / 4u>; // [head_dim / 4]: q[query, head, :] times scale
  var acc: array<vec4<f32>, MAX_HEAD_DIM / 4u>;          // [head_dim / 4]: sum over keys of exp(score - running_max) * v
  for (var c = 0u; c < d4; c++) {
    query_vector[c] = q4[q_base + c] * params.scale;
  }
  var running_max = LOWEST;
  var running_sum = 0.0;

  // Keys four at a time, so each pass over query_vector and acc serves four keys. A new running
  // max rescales what was summed so far by exp(old max - new max).
  var key = 0u;
  for (; key + 4u <= n_keys; key += 4u) {
    let row_0 = cache_row(key, segment_start) * kv_stride + kv_offset;
    let row_1 = cache_row(key + 1u, segment_start) * kv_stride + kv_offset;
    let row_2 = cache_row(key + 2u, segment_start) * kv_stride + kv_offset;
    let row_3 = cache_row(key + 3u, segment_start) * kv_stride + kv_offset;
    var scores = vec4<f32>(0.0);
    for (var c = 0u; c < d4; c++) {
      let query_part = query_vector[c];
      scores += vec4<f32>(
        dot(query_part, k_cache4[row_0 + c]),
        dot(query_part, k_cache4[row_1 + c]),
        dot(query_part, k_cache4[row_2 + c]),
        dot(query_part, k_cache4[row_3 + c]),
      );
    }

    let new_max = max(running_max, max(max(scores.x, scores.y), max(scores.z, scores.w)));
    let correction = exp(running_max - new_max);
    let p = exp(scores - vec4<f32>(new_max));
    running_sum = running_sum * correction + (p.x + p.y + p.z + p.w);
    running_max = new_max;
    for (var c = 0u; c < d4; c++) {
      acc[c] = acc[c] * correction + p.x * v_cache4[row_0 + c] + p.y * v_cache4[row_1 + c] + p.z * v_cache4[row_2 + c] + p.w * v_cache4[row_3 + c];
    }
  }

  // The last n_keys % 4 keys one at a time.
  for (; key < n_keys; key++) {
    let row = cache_row(key, segment_start) * kv_stride + kv_offset;
    var score = 0.0;
    for (var c = 0u; c < d4; c++) {
      score += dot(query_vector[c], k_cache4[row + c]);
    }

    let new_max = max(running_max, score);
    let correction = exp(running_max - new_max);
    let p = exp(score - new_max);
    running_sum = running_sum * correction + p;
    running_max = new_max;
    for (var c = 0u; c < d4; c++) {
      acc[c] = acc[c] * correction + p * v_cache4[row + c];
    }
  }

  for (var c = 0u; c < d4; c++) {
    out4[q_base + c] = acc[c] / running_sum;
  }
}
