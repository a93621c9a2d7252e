// Class-token scoring on the GPU: final RMSNorm of the last position, logits of only the
// requested vocabulary rows (shaders/class_logits.wgsl), then log-softmax over those rows
// (shaders/log_softmax.wgsl). A full-vocabulary variant computes every logit for inspection.

import { InvalidInputError } from "../../errors.js";
import { UniformWriter } from "../buffers.js";
import { grid2D, type KernelDispatch } from "../pipelines.js";
import { rmsnormDispatch } from "./rmsnorm.js";
import { roundActivationsDispatch, type ActivationBlockFormat } from "./round-activations.js";
import { DEFAULT_BINDING_LIMITS, rowBytes, rowChunks, weightDefine, type BindingLimits, type GPUWeightMatrix } from "./weight-rows.js";

export const CLASS_LOGITS_WORKGROUP_SIZE = 64;
/** Max columns one thread of class_logits multiplies by default. Longer rows are shared by more threads. */
export const CLASS_LOGITS_COLUMNS_PER_THREAD = 64;
/**
 * Max columns per thread for software adapters. Rows of up to 1024 columns then get one thread
 * each, which skips the workgroup reduction and its barriers. Measured in Node on Dawn with
 * SwiftShader (two shared CPU cores), the 49,152 x 576 Q8_0 matrix took about 0.5 s of CPU time
 * with one thread per row and 1.1 s with 16.
 */
export const CLASS_LOGITS_SOFTWARE_COLUMNS_PER_THREAD = 1024;
export const LOG_SOFTMAX_WORKGROUP_SIZE = 256;

export interface ClassLogitsArgs {
  /** [positions, dim] f32 hidden states after the last block; only the last row is scored. */
  hidden: GPUBuffer;
  positions: number;
  /** output_norm.weight, [dim] f32. */
  normWeight: GPUBuffer;
  eps: number;
  /** output.weight (or token_embd when tied) as [n_vocab, dim] in its stored type. */
  output: GPUWeightMatrix;
  /**
   * [count] u32 vocabulary rows to score, or "all" for every row. NOTE: the kernel does not
   * range-check ids, so an id outside [0, n_vocab) leaves its logit unwritten. Check ids with
   * validateTokenIds before upload.
   */
  ids: { buffer: GPUBuffer; count: number } | "all";
  /** Scratch, [dim] f32: the normed last row. */
  normed: GPUBuffer;
  /** [count] f32 (or [n_vocab] f32 for "all"): raw logits. */
  logits: GPUBuffer;
  /** [count] f32 (or [n_vocab] f32 for "all"): log-softmax of the logits over the same rows. */
  logProbs: GPUBuffer;
  /** Device binding limits (pass `device.limits`); a matrix larger than one binding is read in row chunks. */
  limits?: BindingLimits;
  /** Max columns per thread, which sets the threads per logit; CLASS_LOGITS_COLUMNS_PER_THREAD by default. */
  columnsPerThread?: number;
  /** When given, the normed row is rounded into `out` ([dim] f32) in `format` blocks before the dot products, as llama.cpp does. */
  roundNormed?: { format: ActivationBlockFormat; out: GPUBuffer };
}

/** Returns the dispatches, in order: RMSNorm of the last row, logits per row chunk, log-softmax. */
export function classLogitsDispatches(args: ClassLogitsArgs): KernelDispatch[] {
  const { hidden, positions, normWeight, eps, output, ids, normed, logits, logProbs, limits = DEFAULT_BINDING_LIMITS } = args;
  const dim = output.cols;
  const define = weightDefine(output, "classLogits");
  const bytesPerRow = rowBytes(output, "classLogits");
  if (!Number.isInteger(positions) || positions < 1) {
    throw new InvalidInputError(`classLogits: positions = ${positions} must be a positive integer; there is no last row to score`);
  }
  const count = ids === "all" ? output.rows : ids.count;
  if (ids !== "all" && (!Number.isInteger(count) || count < 1 || ids.buffer.size < count * 4)) {
    throw new InvalidInputError(`classLogits: ids.count = ${count} must be a positive integer with ${count * 4} bytes in ids.buffer (${ids.buffer.size})`);
  }
  if (logits.size < count * 4 || logProbs.size < count * 4) {
    throw new InvalidInputError(`classLogits: logits (${logits.size} bytes) and logProbs (${logProbs.size} bytes) need ${count} f32 values each`);
  }

  const threadsPerRow = classLogitsThreadsPerRow(dim, args.columnsPerThread);
  const rowsPerWorkgroup = CLASS_LOGITS_WORKGROUP_SIZE / threadsPerRow;
  const dispatches: KernelDispatch[] = [rmsnormDispatch({ x: hidden, weight: normWeight, out: normed, rows: 1, dim, eps, firstRow: positions - 1 })];
  let scored = normed; // [dim]
  if (args.roundNormed) {
    dispatches.push(roundActivationsDispatch({ x: normed, out: args.roundNormed.out, rows: 1, cols: dim, format: args.roundNormed.format }));
    scored = args.roundNormed.out;
  }

  for (const chunk of rowChunks(output, "classLogits", limits)) {
    const n = ids === "all" ? chunk.rows : count;
    dispatches.push({
      pipeline: {
        kernel: "class_logits",
        defines: ids === "all" ? [define, "ALL_ROWS"] : [define],
        constants: { WORKGROUP_SIZE: CLASS_LOGITS_WORKGROUP_SIZE, THREADS_PER_ROW: threadsPerRow },
      },
      params: new UniformWriter().u32(n).u32(dim).u32(bytesPerRow).u32(chunk.firstRow).u32(chunk.rows).finish(),
      buffers: ids === "all" ? [scored, chunk.binding, logits] : [scored, chunk.binding, logits, ids.buffer],
      workgroups: grid2D(Math.ceil(n / rowsPerWorkgroup)),
    });
  }

  dispatches.push(logSoftmaxDispatch({ x: logits, out: logProbs, n: count }));
  return dispatches;
}

/**
 * Returns how many threads share one logit: the smallest power of two that leaves each thread at
 * most `columnsPerThread` columns, capped at the workgroup size. Short rows thus get one thread
 * each. Measured in Node on Dawn with SwiftShader (two CPU cores), the 151,669 x 48 F32 Qwen
 * output matrix took about 25 s with one 64-thread workgroup per logit, and about 0.5 s with one
 * thread per logit.
 */
export function classLogitsThreadsPerRow(dim: number, columnsPerThread = CLASS_LOGITS_COLUMNS_PER_THREAD): number {
  if (!Number.isInteger(columnsPerThread) || columnsPerThread < 1) {
    throw new InvalidInputError(`classLogits: columnsPerThread = ${columnsPerThread} must be a positive integer`);
  }
  let threads = 1;
  while (threads < CLASS_LOGITS_WORKGROUP_SIZE && threads * columnsPerThread < dim) threads *= 2;
  return threads;
}

export interface LogSoftmaxArgs {
  /** [n] f32. */
  x: GPUBuffer;
  /** [n] f32, a buffer other than x. */
  out: GPUBuffer;
  n: number;
}

/** Returns the single-workgroup dispatch that writes log-softmax(x) into `out`. */
export function logSoftmaxDispatch(args: LogSoftmaxArgs): KernelDispatch {
  const { x, out, n } = args;
  if (!Number.isInteger(n) || n < 1) throw new InvalidInputError(`logSoftmax: n = ${n} must be a positive integer`);
  if (x.size < n * 4 || out.size < n * 4) throw new InvalidInputError(`logSoftmax: x (${x.size} bytes) and out (${out.size} bytes) need ${n} f32 values each`);

  return {
    pipeline: { kernel: "log_softmax", constants: { WORKGROUP_SIZE: LOG_SOFTMAX_WORKGROUP_SIZE } },
    params: new UniformWriter().u32(n).finish(),
    buffers: [x, out],
    workgroups: [1],
  };
}
