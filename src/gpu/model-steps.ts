// The step list of one WebGPU forward pass (see model.ts) and the runner that records it into a
// single command buffer: compute dispatches grouped into passes, split where a buffer copy
// (a KV-cache write) must sit between them.

import { GPUUnsupportedError, InvalidInputError } from "../errors.js";
import type { GGMLType } from "../gguf/types.js";
import type { ModelConfig } from "../model/config.js";
import type { GPUModelWeights } from "../runtime/gpu-weights.js";
import type { GPUContext } from "./context.js";
import { addDispatch } from "./kernels/add.js";
import { attentionDispatch, defaultAttentionVariant } from "./kernels/attention.js";
import { CLASS_LOGITS_SOFTWARE_COLUMNS_PER_THREAD, classLogitsDispatches } from "./kernels/class-logits.js";
import { embeddingDispatches } from "./kernels/embedding.js";
import { matmulDispatches, type MatmulWeights } from "./kernels/matmul.js";
import { rmsnormDispatch } from "./kernels/rmsnorm.js";
import { activationBlockFormat, roundActivationsDispatch } from "./kernels/round-activations.js";
import { ropeDispatch } from "./kernels/rope.js";
import { swigluDispatch } from "./kernels/swiglu.js";
import type { KernelDispatch, PreparedDispatch } from "./pipelines.js";

/** A copy of `size` bytes between buffers, recorded outside any compute pass. */
export interface CopyStep {
  copy: { from: GPUBuffer; fromOffset: number; to: GPUBuffer; toOffset: number; size: number };
}

export type Step = KernelDispatch | CopyStep;

/** Activations of one forward pass; shapes are listed where model.ts allocates them. */
export interface ForwardBuffers {
  logitCount: number;
  ids: GPUBuffer;
  classIds: GPUBuffer;
  x: GPUBuffer;
  normed: GPUBuffer;
  lastResidual: GPUBuffer;
  lastNormed: GPUBuffer;
  queries: GPUBuffer;
  queriesNormed: GPUBuffer;
  keys: GPUBuffer;
  keysNormed: GPUBuffer;
  values: GPUBuffer;
  attended: GPUBuffer;
  projected: GPUBuffer;
  gate: GPUBuffer;
  up: GPUBuffer;
  activated: GPUBuffer;
  ropeTable: GPUBuffer;
  lastRopeTable: GPUBuffer;
  finalNormed: GPUBuffer;
  logits: GPUBuffer;
  logProbs: GPUBuffer;
  /** Scratch for activations rounded like llama.cpp: [T, max(E, F, H * D)] f32. Present only with that rounding. */
  rounded?: GPUBuffer;
}

export interface ForwardPlan {
  context: GPUContext;
  config: ModelConfig;
  weights: GPUModelWeights;
  buffers: ForwardBuffers;
  cache: { capacity: number; layers: ReadonlyArray<{ keys: GPUBuffer; values: GPUBuffer }> };
  tokens: number;
  /** Positions already in the cache; the new tokens start here. */
  firstPosition: number;
  /** Score `buffers.classIds` (logitCount ids) instead of the whole vocabulary. */
  byClassIds: boolean;
  /**
   * "llama.cpp" rounds each quantized matrix product's input to Q8_0 or Q8_K blocks first, as
   * llama.cpp's CPU backend does; needs `buffers.rounded`. Default "none": inputs stay f32.
   */
  activationRounding?: ActivationRounding;
}

/** The treatment of matrix products' f32 inputs: kept as they are, or rounded as llama.cpp rounds them. */
export type ActivationRounding = "none" | "llama.cpp";

/**
 * Returns the steps of one forward pass: embedding, the blocks, then the class (or full) logits
 * of the last position. Every block computes keys and values for all T tokens, because the cache
 * needs them. The last block computes queries, attention and the MLP for the last position only,
 * because no later block reads the other positions' outputs.
 */
export function buildForwardSteps(plan: ForwardPlan): Step[] {
  const { context, config, weights, buffers: b, cache, tokens: T, firstPosition } = plan;
  const { embeddingLength: E, feedForwardLength: F, headCount: H, headCountKV: Hkv, headDim: D, rmsNormEpsilon: eps } = config;
  const limits = context.device.limits;
  const neox = config.ropeStyle === "neox";
  const kvRowBytes = Hkv * D * 4;

  const rounded = plan.activationRounding === "llama.cpp" ? b.rounded : undefined;
  if (plan.activationRounding === "llama.cpp" && rounded === undefined) {
    throw new InvalidInputError('buildForwardSteps: activationRounding "llama.cpp" needs buffers.rounded; allocate it with the other forward buffers');
  }
  // With rounding, a quantized product reads its input rounded into `rounded` [m, k] first.
  const roundedInput = (x: GPUBuffer, type: GGMLType, m: number, k: number): { x: GPUBuffer; steps: KernelDispatch[] } => {
    const format = rounded ? activationBlockFormat(type) : undefined;
    if (!rounded || !format) return { x, steps: [] };
    return { x: rounded, steps: [roundActivationsDispatch({ x, out: rounded, rows: m, cols: k, format })] };
  };
  const matmul = (x: GPUBuffer, matrix: MatmulWeights, out: GPUBuffer, m: number, bias?: GPUBuffer): KernelDispatch[] => {
    const input = roundedInput(x, matrix.layout.type, m, matrix.layout.k);
    return [...input.steps, ...matmulDispatches(context, { x: input.x, weights: matrix, out, m, ...(bias ? { bias } : {}) })];
  };

  const steps: Step[] = [...embeddingDispatches({ ids: b.ids, tokens: T, table: weights.tokenEmbedding, out: b.x, limits })];

  weights.layers.forEach((layer, index) => {
    const lastOnly = index === weights.layers.length - 1;
    // Rows that get queries, attention and the MLP: all T, or only the last one in the last block.
    const rows = lastOnly ? 1 : T;
    const residual = lastOnly ? b.lastResidual : b.x; // [rows, E]
    const queryInput = lastOnly ? b.lastNormed : b.normed; // [rows, E]
    const queryTable = lastOnly ? b.lastRopeTable : b.ropeTable;

    // Attention input: normed [T, E]; in the last block also the last row alone.
    steps.push(rmsnormDispatch({ x: b.x, weight: layer.attentionNorm, out: b.normed, rows: T, dim: E, eps }));
    if (lastOnly) {
      steps.push({ copy: { from: b.x, fromOffset: (T - 1) * E * 4, to: b.lastResidual, toOffset: 0, size: E * 4 } });
      steps.push(rmsnormDispatch({ x: b.x, weight: layer.attentionNorm, out: b.lastNormed, rows: 1, dim: E, eps, firstRow: T - 1 }));
    }

    steps.push(...matmul(queryInput, layer.query, b.queries, rows, layer.queryBias)); // [rows, H, D]
    steps.push(...matmul(b.normed, layer.key, b.keys, T, layer.keyBias)); // [T, Hkv, D]
    steps.push(...matmul(b.normed, layer.value, b.values, T, layer.valueBias)); // [T, Hkv, D]

    // qwen3: RMSNorm over each head of the queries and keys, before RoPE.
    let queries = b.queries;
    let keys = b.keys;
    if (layer.queryNorm && layer.keyNorm) {
      steps.push(rmsnormDispatch({ x: b.queries, weight: layer.queryNorm, out: b.queriesNormed, rows: rows * H, dim: D, eps }));
      steps.push(rmsnormDispatch({ x: b.keys, weight: layer.keyNorm, out: b.keysNormed, rows: T * Hkv, dim: D, eps }));
      queries = b.queriesNormed;
      keys = b.keysNormed;
    }

    const rotDims = config.ropeDimensionCount;
    steps.push(ropeDispatch({ x: queries, table: queryTable, tokens: rows, heads: H, headDim: D, rotDims, neox }));
    steps.push(ropeDispatch({ x: keys, table: b.ropeTable, tokens: T, heads: Hkv, headDim: D, rotDims, neox }));

    // KV cache write: rows firstPosition .. firstPosition + T - 1 of this layer.
    const slot = cache.layers[index]!;
    steps.push({ copy: { from: keys, fromOffset: 0, to: slot.keys, toOffset: firstPosition * kvRowBytes, size: T * kvRowBytes } });
    steps.push({ copy: { from: b.values, fromOffset: 0, to: slot.values, toOffset: firstPosition * kvRowBytes, size: T * kvRowBytes } });

    steps.push(
      attentionDispatch({
        q: queries,
        kCache: slot.keys,
        vCache: slot.values,
        out: b.attended,
        tokens: rows,
        nHead: H,
        nHeadKv: Hkv,
        headDim: D,
        firstPosition: firstPosition + T - rows,
        nCtx: cache.capacity,
        variant: defaultAttentionVariant(context, D),
      }),
    );
    steps.push(...matmul(b.attended, layer.attentionOutput, b.projected, rows, layer.attentionOutputBias)); // [rows, E]
    steps.push(addDispatch({ x: residual, y: b.projected, n: rows * E }));

    // SwiGLU MLP on the normed residual.
    steps.push(rmsnormDispatch({ x: residual, weight: layer.feedForwardNorm, out: queryInput, rows, dim: E, eps }));
    steps.push(...matmul(queryInput, layer.gate, b.gate, rows)); // [rows, F]
    steps.push(...matmul(queryInput, layer.up, b.up, rows)); // [rows, F]
    steps.push(swigluDispatch({ gate: b.gate, up: b.up, out: b.activated, n: rows * F }));
    steps.push(...matmul(b.activated, layer.down, b.projected, rows)); // [rows, E]
    steps.push(addDispatch({ x: residual, y: b.projected, n: rows * E }));
  });

  steps.push(
    ...classLogitsDispatches({
      hidden: b.lastResidual,
      positions: 1,
      normWeight: weights.outputNorm,
      eps,
      output: weights.output,
      ids: plan.byClassIds ? { buffer: b.classIds, count: b.logitCount } : "all",
      normed: b.finalNormed,
      logits: b.logits,
      logProbs: b.logProbs,
      ...(rounded && activationBlockFormat(weights.output.type) ? { roundNormed: { format: activationBlockFormat(weights.output.type)!, out: rounded } } : {}),
      limits,
      ...(context.isSoftwareAdapter ? { columnsPerThread: CLASS_LOGITS_SOFTWARE_COLUMNS_PER_THREAD } : {}),
    }),
  );
  return steps;
}

/**
 * Records `steps` in order into one command buffer and submits it. Rejects with
 * GPUUnsupportedError when WebGPU reports a validation or out-of-memory error for them.
 */
export async function runSteps(context: GPUContext, steps: readonly Step[], label: string): Promise<void> {
  context.assertUsable();
  const prepared = await Promise.all(steps.map((step) => ("copy" in step ? step : context.pipelines.prepare(step))));
  const device = context.device;

  device.pushErrorScope("out-of-memory");
  device.pushErrorScope("validation");
  const encoder = device.createCommandEncoder({ label });
  let pass: GPUComputePassEncoder | undefined;
  for (const step of prepared) {
    if ("copy" in step) {
      pass?.end();
      pass = undefined;
      const { from, fromOffset, to, toOffset, size } = step.copy;
      encoder.copyBufferToBuffer(from, fromOffset, to, toOffset, size);
    } else {
      pass ??= encoder.beginComputePass({ label });
      step.encode(pass);
    }
  }
  pass?.end();
  device.queue.submit([encoder.finish()]);
  const validation = await device.popErrorScope();
  const outOfMemory = await device.popErrorScope();

  for (const step of prepared) if (!("copy" in step)) (step as PreparedDispatch).release();
  context.assertUsable();
  const error = validation ?? outOfMemory;
  if (error) throw new GPUUnsupportedError(`${label}: WebGPU rejected the forward pass: ${error.message}`);
}
