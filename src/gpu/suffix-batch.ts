// The batched suffix forward pass on WebGPU: several token segments that all continue one cached
// prefix run through the model together, each with its own LoRA adapter or none, and each gets
// the class-token logits of its own last row. The prefix cache is only read.
//
// API:
//   const adapters = SuffixBatchAdapters.create(model, [adapterA, adapterB]);    // slot s = adapters[s]
//   const results = await runSuffixBatch(model, {
//     prefix,                                   // GPUKVCache with P positions, or undefined for P = 0
//     segments: [{ tokens, adapterSlot, adapterFromRow?, classTokenIds }, ...],
//     adapters, signal,
//   });                                         // results[j] = { logits, logProbs } of segment j
//
// Layout: the segments are stacked into one batch of T rows, segment j at batch rows
// starts[j] .. starts[j] + L_j - 1, and its row r sits at absolute position P + r. A scratch KV
// cache of P + T rows gets a copy of the prefix rows, then every layer writes the batch keys and
// values at rows P .. P + T - 1 (shaders/attention.wgsl, SUFFIX_SEGMENTS variant), so a batch row
// attends to the prefix and to its own segment only. Per layer, in order: RMSNorm, q/k/v matmul
// plus LoRA, q/k RMSNorm (qwen3), RoPE, the cache write, segment attention, output matmul plus
// LoRA, residual add, RMSNorm, gate/up matmul plus LoRA, SwiGLU, down matmul plus LoRA, residual
// add. The final RMSNorm and the class logits run once per segment on its last row.
//
// Shapes: T batch rows, E = embeddingLength, F = feedForwardLength, H / Hkv query and key-value
// heads, D = headDim, R = max adapter rank.

import type { LoraAdapter } from "../adapters/lora.js";
import { loraWeightName, type LoraTarget } from "../adapters/lora.js";
import { validateAdapterForModel } from "../adapters/validate.js";
import { AbortError, DeviceLimitsError, InvalidInputError, throwIfAborted } from "../errors.js";
import { STORAGE_USAGE } from "./buffers.js";
import type { GPUContext } from "./context.js";
import { addDispatch } from "./kernels/add.js";
import { classLogitsDispatches } from "./kernels/class-logits.js";
import { embeddingDispatches } from "./kernels/embedding.js";
import { createLoraAdapterSets, LoraRowTiles, loraDispatches, type LoraAdapterSet, type LoraSegment } from "./kernels/lora.js";
import { matmulDispatches, type MatmulWeights } from "./kernels/matmul.js";
import { rmsnormDispatch } from "./kernels/rmsnorm.js";
import { ropeDispatch } from "./kernels/rope.js";
import { segmentAttentionDispatch, SuffixSegments } from "./kernels/segment-attention.js";
import { swigluDispatch } from "./kernels/swiglu.js";
import type { GPUKVCache, WebGPUModel } from "./model.js";
import { runSteps, type Step } from "./model-steps.js";

/** One segment of a suffix batch. */
export interface SuffixSegment {
  /** Token ids [L], at positions P .. P + L - 1 after the prefix. At least one. */
  tokens: number[];
  /** Slot of the batch's SuffixBatchAdapters, or -1 for the base weights only. */
  adapterSlot: number;
  /** First row of `tokens` the adapter acts on; 0 (every row) when omitted. Rows before it use the base weights. */
  adapterFromRow?: number;
  /** Vocabulary ids whose logits are read at the segment's last row, in this order. At least one. */
  classTokenIds: number[];
}

export interface SuffixBatchOptions {
  /** Keys and values of the shared prefix; the segments start at position prefix.length, or 0 without one. */
  prefix?: GPUKVCache;
  segments: readonly SuffixSegment[];
  /** The adapters that `adapterSlot` indexes; needed when any segment has a slot other than -1. */
  adapters?: SuffixBatchAdapters;
  /** Checked before the work is recorded and after the results are read back. */
  signal?: AbortSignal;
}

export interface SuffixSegmentResult {
  /** Logits of the segment's class tokens at its last row: [classTokenIds.length]. */
  logits: Float32Array;
  /** Log-softmax of `logits`, computed on the GPU over the same entries. */
  logProbs: Float32Array;
}

/** Every adapter of a batch uploaded once: per targeted weight, a LoraAdapterSet whose slot s is adapters[s]. */
export class SuffixBatchAdapters {
  private disposed = false;

  private constructor(
    private readonly context: GPUContext,
    /** Adapter names, by slot. */
    readonly names: readonly string[],
    /** Keyed by GGUF weight name such as "blk.0.attn_q.weight". */
    readonly sets: ReadonlyMap<string, LoraAdapterSet>,
  ) {}

  /**
   * Uploads `adapters` for `model`. Throws AdapterMismatchError when an adapter does not fit the
   * model, and AdapterWeightsError for a NaN or infinite weight.
   */
  static create(model: WebGPUModel, adapters: readonly LoraAdapter[]): SuffixBatchAdapters {
    const { context } = model.parts;
    for (const adapter of adapters) validateAdapterForModel(adapter, model.config);
    return new SuffixBatchAdapters(context, adapters.map((adapter) => adapter.name), createLoraAdapterSets(context, adapters));
  }

  get slotCount(): number {
    return this.names.length;
  }

  /** Largest rank over every set: the row stride of the shared scratch buffer. */
  get maxRank(): number {
    let rank = 0;
    for (const set of this.sets.values()) rank = Math.max(rank, set.maxRank);
    return rank;
  }

  /** Returns the set of `target` in block `layer`, or undefined when no adapter targets it. */
  set(layer: number, target: LoraTarget): LoraAdapterSet | undefined {
    this.assertUsable();
    return this.sets.get(loraWeightName(layer, target));
  }

  /** Destroys every set's buffers. Safe to call twice. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.context.isLost) return;
    for (const set of this.sets.values()) set.dispose();
  }

  private assertUsable(): void {
    if (this.disposed) throw new InvalidInputError("these SuffixBatchAdapters were disposed; upload the adapters again with SuffixBatchAdapters.create()");
  }
}

/**
 * Returns the max batch rows T whose activations fit one storage binding of the device, the
 * widest being [T, max(F, H * D, E)] f32. Callers split larger batches into several passes.
 */
export function maxSuffixBatchRows(model: WebGPUModel): number {
  const { embeddingLength: E, feedForwardLength: F, headCount: H, headDim: D } = model.config;
  const width = Math.max(E, F, H * D);
  return Math.floor(model.parts.context.limits.maxStorageBufferBindingSize / (width * 4));
}

/**
 * Runs the segments after the prefix and returns each segment's class logits at its last row.
 * Throws InvalidInputError for an empty or invalid segment, a token or class id outside the
 * vocabulary, a segment that would pass the context length, or a slot without adapters. Throws
 * DeviceLimitsError when the batch does not fit one binding (see maxSuffixBatchRows), and
 * AbortError when `signal` aborts. Every buffer it creates is destroyed before it settles.
 */
export async function runSuffixBatch(model: WebGPUModel, options: SuffixBatchOptions): Promise<SuffixSegmentResult[]> {
  const { context } = model.parts;
  const { segments, prefix, adapters, signal } = options;
  const prefixLength = prefix?.length ?? 0;
  checkSegments(model, segments, prefixLength, adapters);
  throwIfAborted(signal);

  const totalRows = segments.reduce((sum, segment) => sum + segment.tokens.length, 0);
  const maxRows = maxSuffixBatchRows(model);
  if (totalRows > maxRows) {
    throw new DeviceLimitsError(
      "maxStorageBufferBindingSize",
      totalRows,
      maxRows,
      `suffix batch: ${totalRows} rows need activations larger than the device's ${context.limits.maxStorageBufferBindingSize}-byte binding limit; split the segments into batches of at most ${maxRows} rows`,
    );
  }

  const scope = new BatchResources(context);
  try {
    const plan = scope.allocate(model, segments, prefix, adapters);
    const steps = batchSteps(model, plan, adapters);
    await runSteps(context, steps, `suffix batch of ${segments.length} segments, ${totalRows} rows`);

    const packed = await context.readFloat32(plan.results, 0, plan.resultFloats);
    if (signal?.aborted) throw new AbortError("the suffix batch was aborted; its results were discarded");
    return plan.resultOffsets.map(({ offset, count }) => ({
      logits: packed.slice(offset, offset + count),
      logProbs: packed.slice(offset + count, offset + 2 * count),
    }));
  } finally {
    scope.dispose();
  }
}

function checkSegments(model: WebGPUModel, segments: readonly SuffixSegment[], prefixLength: number, adapters: SuffixBatchAdapters | undefined): void {
  const { vocabSize, contextLength } = model.config;
  if (segments.length === 0) throw new InvalidInputError("suffix batch: no segments; pass at least one segment with tokens");

  segments.forEach((segment, index) => {
    const where = `suffix batch: segment ${index}`;
    const { tokens, classTokenIds, adapterSlot } = segment;
    const fromRow = segment.adapterFromRow ?? 0;
    if (tokens.length === 0) throw new InvalidInputError(`${where} has no tokens; pass at least one token id`);
    if (classTokenIds.length === 0) throw new InvalidInputError(`${where} has no class token ids; pass at least one id to score`);
    if (prefixLength + tokens.length > contextLength) {
      throw new InvalidInputError(
        `${where}: ${prefixLength} prefix + ${tokens.length} segment tokens exceed the context length ${contextLength}; shorten the segment or the prefix`,
      );
    }
    for (const [label, ids] of [["token", tokens], ["class token", classTokenIds]] as const) {
      for (const id of ids) {
        if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
          throw new InvalidInputError(`${where}: ${label} id ${id} is outside the vocabulary [0, ${vocabSize}); check the tokenizer matches the model`);
        }
      }
    }
    if (!Number.isInteger(adapterSlot) || adapterSlot < -1) {
      throw new InvalidInputError(`${where}: adapterSlot = ${adapterSlot} is invalid; pass an adapter slot index or -1 for the base weights`);
    }
    if (adapterSlot >= 0 && adapterSlot >= (adapters?.slotCount ?? 0)) {
      throw new InvalidInputError(
        `${where}: adapterSlot ${adapterSlot} has no adapter (the batch has ${adapters?.slotCount ?? 0}); pass SuffixBatchAdapters with one adapter per slot`,
      );
    }
    if (!Number.isInteger(fromRow) || fromRow < 0 || fromRow > tokens.length) {
      throw new InvalidInputError(`${where}: adapterFromRow = ${fromRow} is outside [0, ${tokens.length}]; pass a row of the segment`);
    }
  });
}

/** Buffers and tables of one batch. */
interface BatchPlan {
  rows: number;
  prefixLength: number;
  segments: SuffixSegments;
  loraTiles: LoraRowTiles;
  /** Last batch row of each segment. */
  lastRows: number[];
  classCounts: number[];
  /** Scratch KV cache per layer: [P + T, Hkv, D] f32, the prefix copied into rows 0 .. P - 1. */
  cache: { keys: GPUBuffer; values: GPUBuffer }[];
  prefix: GPUKVCache | undefined;
  ids: GPUBuffer; // [T] u32
  x: GPUBuffer; // [T, E] residual stream
  normed: GPUBuffer; // [T, E]
  queries: GPUBuffer; // [T, H, D]
  queriesNormed: GPUBuffer; // [T, H, D]
  keys: GPUBuffer; // [T, Hkv, D]
  keysNormed: GPUBuffer; // [T, Hkv, D]
  values: GPUBuffer; // [T, Hkv, D]
  attended: GPUBuffer; // [T, H, D]
  projected: GPUBuffer; // [T, E]
  gate: GPUBuffer; // [T, F]
  up: GPUBuffer; // [T, F]
  activated: GPUBuffer; // [T, F]
  ropeTable: GPUBuffer; // [T, rot / 2, 2] (cos, sin) at positions P + r
  loraScratch: GPUBuffer; // [T, R]
  finalNormed: GPUBuffer; // [E]
  /** Per segment: class ids [n_j] u32, logits [n_j] f32, log-probabilities [n_j] f32. */
  classBuffers: { ids: GPUBuffer; logits: GPUBuffer; logProbs: GPUBuffer }[];
  /** Every segment's logits then log-probabilities, back to back: [sum_j 2 * n_j] f32. */
  results: GPUBuffer;
  resultFloats: number;
  resultOffsets: { offset: number; count: number }[];
}

/** The GPU objects of one batch, destroyed together. */
class BatchResources {
  private readonly buffers: GPUBuffer[] = [];
  private readonly owned: { dispose(): void }[] = [];

  constructor(private readonly context: GPUContext) {}

  allocate(model: WebGPUModel, segments: readonly SuffixSegment[], prefix: GPUKVCache | undefined, adapters: SuffixBatchAdapters | undefined): BatchPlan {
    const { inverseFrequencies } = model.parts;
    const { embeddingLength: E, feedForwardLength: F, headCount: H, headCountKV: Hkv, headDim: D, layerCount, ropeDimensionCount } = model.config;
    const lengths = segments.map((segment) => segment.tokens.length);
    const rows = lengths.reduce((sum, length) => sum + length, 0);
    const prefixLength = prefix?.length ?? 0;
    const create = (label: string, floats: number): GPUBuffer => this.buffer(`suffixBatch.${label}`, floats * 4);

    const suffixSegments = this.own(SuffixSegments.create(this.context, lengths, "suffixBatch.segment_starts"));
    const loraSegments: LoraSegment[] = segments.map((segment, index) => {
      const fromRow = segment.adapterFromRow ?? 0;
      return { rowStart: suffixSegments.starts[index]! + fromRow, rowCount: segment.tokens.length - fromRow, slot: segment.adapterSlot };
    });
    const loraTiles = this.own(LoraRowTiles.create(this.context, { m: rows, segments: loraSegments, label: "suffixBatch.lora_tiles" }));

    const cacheRows = prefixLength + rows;
    const cache = Array.from({ length: layerCount }, (_, layer) => ({
      keys: create(`cache.keys.${layer}`, cacheRows * Hkv * D),
      values: create(`cache.values.${layer}`, cacheRows * Hkv * D),
    }));

    const ids = create("ids", rows);
    this.context.write(ids, Uint32Array.from(segments.flatMap((segment) => segment.tokens)));
    const ropeTable = create("ropeTable", rows * ropeDimensionCount);
    this.context.write(ropeTable, batchRopeTable(lengths, prefixLength, inverseFrequencies));

    const classCounts = segments.map((segment) => segment.classTokenIds.length);
    const classBuffers = segments.map((segment, index) => {
      const count = segment.classTokenIds.length;
      const classIds = create(`classIds.${index}`, count);
      this.context.write(classIds, Uint32Array.from(segment.classTokenIds));
      return { ids: classIds, logits: create(`logits.${index}`, count), logProbs: create(`logProbs.${index}`, count) };
    });
    const resultOffsets: { offset: number; count: number }[] = [];
    let resultFloats = 0;
    for (const count of classCounts) {
      resultOffsets.push({ offset: resultFloats, count });
      resultFloats += 2 * count;
    }

    return {
      rows,
      prefixLength,
      segments: suffixSegments,
      loraTiles,
      lastRows: suffixSegments.starts.map((start, index) => start + lengths[index]! - 1),
      classCounts,
      cache,
      prefix,
      ids,
      x: create("x", rows * E),
      normed: create("normed", rows * E),
      queries: create("queries", rows * H * D),
      queriesNormed: create("queriesNormed", rows * H * D),
      keys: create("keys", rows * Hkv * D),
      keysNormed: create("keysNormed", rows * Hkv * D),
      values: create("values", rows * Hkv * D),
      attended: create("attended", rows * H * D),
      projected: create("projected", rows * E),
      gate: create("gate", rows * F),
      up: create("up", rows * F),
      activated: create("activated", rows * F),
      ropeTable,
      loraScratch: create("loraScratch", rows * Math.max(adapters?.maxRank ?? 0, 1)),
      finalNormed: create("finalNormed", E),
      classBuffers,
      results: create("results", resultFloats),
      resultFloats,
      resultOffsets,
    };
  }

  dispose(): void {
    for (const object of this.owned) object.dispose();
    for (const buffer of this.buffers) this.context.destroyBuffer(buffer);
    this.owned.length = 0;
    this.buffers.length = 0;
  }

  private buffer(label: string, bytes: number): GPUBuffer {
    const buffer = this.context.createBuffer(label, bytes, STORAGE_USAGE);
    this.buffers.push(buffer);
    return buffer;
  }

  private own<T extends { dispose(): void }>(object: T): T {
    this.owned.push(object);
    return object;
  }
}

/** Returns the (cos, sin) table [T, rot / 2, 2]: batch row starts[j] + r of segment j is at position P + r. */
function batchRopeTable(lengths: readonly number[], prefixLength: number, inverseFrequencies: Float64Array): Float32Array {
  const pairs = inverseFrequencies.length;
  const rows = lengths.reduce((sum, length) => sum + length, 0);
  const table = new Float32Array(rows * pairs * 2);
  let row = 0;
  for (const length of lengths) {
    for (let r = 0; r < length; r++, row++) {
      for (let i = 0; i < pairs; i++) {
        const angle = (prefixLength + r) * inverseFrequencies[i]!;
        table[2 * (row * pairs + i)] = Math.cos(angle);
        table[2 * (row * pairs + i) + 1] = Math.sin(angle);
      }
    }
  }
  return table;
}

/** Returns every step of the batch: the prefix copy, embedding, the blocks, then each segment's class logits. */
function batchSteps(model: WebGPUModel, plan: BatchPlan, adapters: SuffixBatchAdapters | undefined): Step[] {
  const { context, weights } = model.parts;
  const config = model.config;
  const { embeddingLength: E, feedForwardLength: F, headCount: H, headCountKV: Hkv, headDim: D, rmsNormEpsilon: eps } = config;
  const limits = context.device.limits;
  const T = plan.rows;
  const P = plan.prefixLength;
  const kvRowBytes = Hkv * D * 4;
  const steps: Step[] = [];

  // y [T, n] = x W^T (+ bias), then every segment's adapter delta on its adapter rows.
  const project = (x: GPUBuffer, matrix: MatmulWeights, out: GPUBuffer, layer: number, target: LoraTarget, bias?: GPUBuffer): void => {
    steps.push(...matmulDispatches(context, { x, weights: matrix, out, m: T, ...(bias ? { bias } : {}) }));
    const set = adapters?.set(layer, target);
    if (set) steps.push(...loraDispatches(context, { x, y: out, scratch: plan.loraScratch, set, tiles: plan.loraTiles }));
  };

  // The prefix rows of every layer, copied so the batch can write after them without touching the caller's cache.
  if (plan.prefix && P > 0) {
    plan.prefix.layers.forEach((source, layer) => {
      const target = plan.cache[layer]!;
      steps.push({ copy: { from: source.keys, fromOffset: 0, to: target.keys, toOffset: 0, size: P * kvRowBytes } });
      steps.push({ copy: { from: source.values, fromOffset: 0, to: target.values, toOffset: 0, size: P * kvRowBytes } });
    });
  }

  steps.push(...embeddingDispatches({ ids: plan.ids, tokens: T, table: weights.tokenEmbedding, out: plan.x, limits }));

  weights.layers.forEach((layer, index) => {
    steps.push(rmsnormDispatch({ x: plan.x, weight: layer.attentionNorm, out: plan.normed, rows: T, dim: E, eps }));
    project(plan.normed, layer.query, plan.queries, index, "attn_q", layer.queryBias); // [T, H, D]
    project(plan.normed, layer.key, plan.keys, index, "attn_k", layer.keyBias); // [T, Hkv, D]
    project(plan.normed, layer.value, plan.values, index, "attn_v", layer.valueBias); // [T, Hkv, D]

    // qwen3: RMSNorm over each head of the queries and keys, before RoPE.
    let queries = plan.queries;
    let keys = plan.keys;
    if (layer.queryNorm && layer.keyNorm) {
      steps.push(rmsnormDispatch({ x: plan.queries, weight: layer.queryNorm, out: plan.queriesNormed, rows: T * H, dim: D, eps }));
      steps.push(rmsnormDispatch({ x: plan.keys, weight: layer.keyNorm, out: plan.keysNormed, rows: T * Hkv, dim: D, eps }));
      queries = plan.queriesNormed;
      keys = plan.keysNormed;
    }

    const rope = { table: plan.ropeTable, tokens: T, headDim: D, rotDims: config.ropeDimensionCount, neox: config.ropeStyle === "neox" };
    steps.push(ropeDispatch({ ...rope, x: queries, heads: H }));
    steps.push(ropeDispatch({ ...rope, x: keys, heads: Hkv }));

    // Batch keys and values go to cache rows P .. P + T - 1, after the prefix.
    const slot = plan.cache[index]!;
    steps.push({ copy: { from: keys, fromOffset: 0, to: slot.keys, toOffset: P * kvRowBytes, size: T * kvRowBytes } });
    steps.push({ copy: { from: plan.values, fromOffset: 0, to: slot.values, toOffset: P * kvRowBytes, size: T * kvRowBytes } });
    steps.push(
      segmentAttentionDispatch(context, {
        q: queries,
        kCache: slot.keys,
        vCache: slot.values,
        out: plan.attended,
        segments: plan.segments,
        nHead: H,
        nHeadKv: Hkv,
        headDim: D,
        prefixLength: P,
        nCtx: P + T,
      }),
    );
    project(plan.attended, layer.attentionOutput, plan.projected, index, "attn_output", layer.attentionOutputBias); // [T, E]
    steps.push(addDispatch({ x: plan.x, y: plan.projected, n: T * E }));

    // SwiGLU MLP on the normed residual.
    steps.push(rmsnormDispatch({ x: plan.x, weight: layer.feedForwardNorm, out: plan.normed, rows: T, dim: E, eps }));
    project(plan.normed, layer.gate, plan.gate, index, "ffn_gate"); // [T, F]
    project(plan.normed, layer.up, plan.up, index, "ffn_up"); // [T, F]
    steps.push(swigluDispatch({ gate: plan.gate, up: plan.up, out: plan.activated, n: T * F }));
    project(plan.activated, layer.down, plan.projected, index, "ffn_down"); // [T, E]
    steps.push(addDispatch({ x: plan.x, y: plan.projected, n: T * E }));
  });

  // Final norm and class logits of each segment's last row, packed into `results` for one readback.
  plan.classBuffers.forEach((buffers, index) => {
    const count = plan.classCounts[index]!;
    steps.push(
      ...classLogitsDispatches({
        hidden: plan.x,
        positions: plan.lastRows[index]! + 1,
        normWeight: weights.outputNorm,
        eps,
        output: weights.output,
        ids: { buffer: buffers.ids, count },
        normed: plan.finalNormed,
        logits: buffers.logits,
        logProbs: buffers.logProbs,
        limits,
      }),
    );
    const { offset } = plan.resultOffsets[index]!;
    steps.push({ copy: { from: buffers.logits, fromOffset: 0, to: plan.results, toOffset: offset * 4, size: count * 4 } });
    steps.push({ copy: { from: buffers.logProbs, fromOffset: 0, to: plan.results, toOffset: (offset + count) * 4, size: count * 4 } });
  });
  return steps;
}
