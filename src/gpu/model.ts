// The whole-model forward pass on WebGPU for llama, qwen2 and qwen3 decoders, built from the
// kernels in ./kernels. It returns last-position logits like the CPU reference (src/reference).
//
// One forward pass is recorded as a list of steps (kernel dispatches and buffer copies) and
// submitted at once. Shapes: T tokens, E = embeddingLength, F = feedForwardLength, H / Hkv query
// and key-value heads, D = headDim.

import { AbortError, InvalidInputError, throwIfAborted } from "../errors.js";
import type { GGUFFile } from "../gguf/reader.js";
import { readModelConfig, type ModelConfig } from "../model/config.js";
import { ropeInverseFrequencies } from "../reference/rope.js";
import { createProgressReporter, type ProgressCallback, type ProgressReporter } from "../runtime/progress.js";
import { disposeGPUWeights, loadGPUWeights, type GPUModelWeights } from "../runtime/gpu-weights.js";
import { STORAGE_USAGE } from "./buffers.js";
import type { GPUContext } from "./context.js";
import { buildForwardSteps, runSteps, type ActivationRounding, type ForwardBuffers, type Step } from "./model-steps.js";
import { pipelineLabel, type PipelineKey } from "./pipelines.js";

/** Keys and values of every layer for positions 0 .. length - 1, on the GPU. */
export class GPUKVCache {
  /** Positions stored. */
  length = 0;

  constructor(
    private readonly context: GPUContext,
    /** Max positions the cache holds. */
    readonly capacity: number,
    /** Per layer: keys and values, each [capacity, Hkv, D] f32. */
    readonly layers: ReadonlyArray<{ keys: GPUBuffer; values: GPUBuffer }>,
  ) {}

  /** Frees the cache's buffers. */
  dispose(): void {
    for (const layer of this.layers) {
      this.context.destroyBuffer(layer.keys);
      this.context.destroyBuffer(layer.values);
    }
  }
}

export interface WebGPUModelLoadOptions {
  context: GPUContext;
  /** Receives "upload" and "compile" reports, then "ready". Ignored when `progress` is given. */
  onProgress?: ProgressCallback;
  /** A reporter shared with the caller's earlier stages; the caller sends "ready". */
  progress?: ProgressReporter;
  signal?: AbortSignal;
}

export interface WebGPUForwardOptions {
  /** Tokens are appended after the cache's positions, and the cache is extended with them. */
  cache?: GPUKVCache;
  /** When given, `logits` has one entry per id, in this order, in place of the full vocabulary. */
  classTokenIds?: number[];
  /** Checked before the work is submitted and after it is read back. */
  signal?: AbortSignal;
  /**
   * "llama.cpp": round the input of every Q8_0, Q4_0, Q4_K and Q6_K matrix product to Q8_0 or Q8_K
   * blocks first, as llama.cpp's CPU backend does, so results can be compared with llama.cpp's.
   * Default "none": f32 inputs, as the float32 reference computes by default.
   */
  activationRounding?: ActivationRounding;
}

/** The GPU objects that a pass recorded outside `WebGPUModel` reads, such as the suffix batch in suffix-batch.ts. */
export interface WebGPUModelParts {
  context: GPUContext;
  weights: GPUModelWeights;
  /** RoPE inverse frequencies [ropeDimensionCount / 2], frequency factors and scaling applied. */
  inverseFrequencies: Float64Array;
}

export interface WebGPUForwardResult {
  /** Last-position logits: [vocab], or [classTokenIds.length]. */
  logits: Float32Array;
  /** Log-softmax of `logits`, computed on the GPU over the same entries. */
  logProbs: Float32Array;
}

// Prompt lengths whose pipelines are compiled at load. One token uses the few-row matmul kernel
// everywhere. Nine tokens use the tiled one, because MATMUL_ROWS_MAX_M (kernels/matmul.ts) is 8.
const WARMUP_TOKEN_COUNTS = [1, 9];

export class WebGPUModel {
  private disposed = false;

  private constructor(
    readonly config: ModelConfig,
    private readonly context: GPUContext,
    private readonly weights: GPUModelWeights,
    private readonly inverseFrequencies: Float64Array,
  ) {}

  /**
   * Reads the config, streams the weights to the GPU and compiles the pipelines the forward pass
   * uses. Progress: "upload" in tensor bytes, then "compile" in pipelines.
   */
  static async load(file: GGUFFile, options: WebGPUModelLoadOptions): Promise<WebGPUModel> {
    const { context, signal } = options;
    const reporter = options.progress ?? createProgressReporter(options.onProgress);
    const config = readModelConfig(file);

    const weights = await loadGPUWeights(file, config, context, {
      signal,
      onProgress: (loaded, total) => reporter.report("upload", loaded, total),
    });

    const inverseFrequencies = ropeInverseFrequencies({
      headDim: config.headDim,
      ropeDimensionCount: config.ropeDimensionCount,
      ropeFreqBase: config.ropeFreqBase,
      ropeStyle: config.ropeStyle,
      scalingFactor: config.ropeScaling.factor,
      frequencyFactors: weights.ropeFrequencyFactors,
    });
    const model = new WebGPUModel(config, context, weights, inverseFrequencies);

    try {
      await model.compile(reporter, signal);
    } catch (error) {
      model.dispose();
      throw error;
    }
    if (!options.progress) reporter.ready();
    return model;
  }

  /** Creates an empty cache for up to `capacity` positions (default: the context length). */
  createKVCache(capacity = this.config.contextLength): GPUKVCache {
    this.assertUsable();
    if (!Number.isInteger(capacity) || capacity <= 0 || capacity > this.config.contextLength) {
      throw new InvalidInputError(`createKVCache: capacity ${capacity} must be an integer in [1, ${this.config.contextLength}] (the context length)`);
    }
    const bytes = capacity * this.config.headCountKV * this.config.headDim * 4;
    const layers = Array.from({ length: this.config.layerCount }, (_, layer) => ({
      keys: this.context.createBuffer(`kv.keys.${layer}`, bytes, STORAGE_USAGE),
      values: this.context.createBuffer(`kv.values.${layer}`, bytes, STORAGE_USAGE),
    }));
    return new GPUKVCache(this.context, capacity, layers);
  }

  /** Runs `tokens` through the model and returns the last position's logits and log-probabilities. */
  async forward(tokens: number[], options: WebGPUForwardOptions = {}): Promise<WebGPUForwardResult> {
    this.assertUsable();
    const { cache, classTokenIds, signal, activationRounding = "none" } = options;
    if (activationRounding !== "none" && activationRounding !== "llama.cpp") {
      throw new InvalidInputError(`forward: activationRounding ${JSON.stringify(activationRounding)} is invalid; pass "none" or "llama.cpp"`);
    }
    const firstPosition = cache?.length ?? 0;
    this.checkTokens(tokens, firstPosition, cache?.capacity ?? this.config.contextLength, classTokenIds);
    throwIfAborted(signal);

    const kv = cache ?? this.createKVCache(tokens.length);
    const buffers = this.createForwardBuffers(tokens.length, firstPosition, classTokenIds?.length ?? this.config.vocabSize, activationRounding);
    try {
      this.context.write(buffers.ids, Uint32Array.from(tokens));
      if (classTokenIds) this.context.write(buffers.classIds, Uint32Array.from(classTokenIds));

      const steps = this.steps(buffers, kv, tokens.length, firstPosition, classTokenIds !== undefined, activationRounding);
      await runSteps(this.context, steps, `forward ${tokens.length} tokens`);
      const logits = await this.context.readFloat32(buffers.logits, 0, buffers.logitCount);
      const logProbs = await this.context.readFloat32(buffers.logProbs, 0, buffers.logitCount);
      if (signal?.aborted) throw new AbortError("forward was aborted; its results were discarded");

      if (cache) cache.length += tokens.length;
      return { logits, logProbs };
    } finally {
      for (const buffer of Object.values(buffers)) if (typeof buffer !== "number") this.context.destroyBuffer(buffer);
      if (!cache) kv.dispose();
    }
  }

  /** Returns the context, weights and RoPE frequencies; throws once the model is disposed or its device lost. */
  get parts(): WebGPUModelParts {
    this.assertUsable();
    return { context: this.context, weights: this.weights, inverseFrequencies: this.inverseFrequencies };
  }

  /** Frees the weights. The context stays open; it belongs to the caller. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (!this.context.isLost) disposeGPUWeights(this.context, this.weights);
  }

  private assertUsable(): void {
    if (this.disposed) throw new InvalidInputError("this WebGPUModel was disposed; load the model again");
    this.context.assertUsable();
  }

  private steps(buffers: ForwardBuffers, kv: GPUKVCache, tokens: number, firstPosition: number, byClassIds: boolean, activationRounding: ActivationRounding = "none"): Step[] {
    return buildForwardSteps({
      context: this.context,
      config: this.config,
      weights: this.weights,
      buffers,
      cache: kv,
      tokens,
      firstPosition,
      byClassIds,
      activationRounding,
    });
  }

  /** Compiles every pipeline of the warm-up plans, reporting "compile" progress per pipeline. */
  private async compile(reporter: ProgressReporter, signal: AbortSignal | undefined): Promise<void> {
    const keys = new Map<string, PipelineKey>();
    for (const tokens of WARMUP_TOKEN_COUNTS.filter((count) => count <= this.config.contextLength)) {
      for (const byClassIds of [true, false]) {
        const kv = this.createKVCache(tokens);
        const buffers = this.createForwardBuffers(tokens, 0, byClassIds ? 1 : this.config.vocabSize);
        try {
          for (const step of this.steps(buffers, kv, tokens, 0, byClassIds)) {
            if ("pipeline" in step) keys.set(pipelineLabel(step.pipeline), step.pipeline);
          }
        } finally {
          for (const buffer of Object.values(buffers)) if (typeof buffer !== "number") this.context.destroyBuffer(buffer);
          kv.dispose();
        }
      }
    }

    let compiled = 0;
    reporter.report("compile", 0, keys.size);
    for (const key of keys.values()) {
      throwIfAborted(signal);
      await this.context.pipelines.get(key);
      reporter.report("compile", ++compiled, keys.size);
    }
  }

  /** Allocates the activations of one forward pass and writes the RoPE tables. */
  private createForwardBuffers(tokens: number, firstPosition: number, logitCount: number, activationRounding: ActivationRounding = "none"): ForwardBuffers {
    const { embeddingLength: E, feedForwardLength: F, headCount: H, headCountKV: Hkv, headDim: D, ropeDimensionCount } = this.config;
    const create = (label: string, floats: number): GPUBuffer => this.context.createBuffer(`forward.${label}`, floats * 4, STORAGE_USAGE);

    const buffers: ForwardBuffers = {
      logitCount,
      ids: create("ids", tokens), // [T] u32
      classIds: create("classIds", Math.max(logitCount, 1)), // [n] u32
      x: create("x", tokens * E), // [T, E] residual stream
      normed: create("normed", tokens * E), // [T, E]
      lastResidual: create("lastResidual", E), // [1, E] residual of the last position in the last block
      lastNormed: create("lastNormed", E), // [1, E]
      queries: create("queries", tokens * H * D), // [T, H, D]
      queriesNormed: create("queriesNormed", tokens * H * D), // [T, H, D]
      keys: create("keys", tokens * Hkv * D), // [T, Hkv, D]
      keysNormed: create("keysNormed", tokens * Hkv * D), // [T, Hkv, D]
      values: create("values", tokens * Hkv * D), // [T, Hkv, D]
      attended: create("attended", tokens * H * D), // [T, H, D]
      projected: create("projected", tokens * E), // [T, E]
      gate: create("gate", tokens * F), // [T, F]
      up: create("up", tokens * F), // [T, F]
      activated: create("activated", tokens * F), // [T, F]
      ropeTable: create("ropeTable", tokens * ropeDimensionCount), // [T, rot / 2, 2] (cos, sin)
      lastRopeTable: create("lastRopeTable", ropeDimensionCount), // [1, rot / 2, 2]
      finalNormed: create("finalNormed", E), // [E]
      logits: create("logits", logitCount), // [n]
      logProbs: create("logProbs", logitCount), // [n]
    };
    if (activationRounding === "llama.cpp") buffers.rounded = create("rounded", tokens * Math.max(E, F, H * D)); // [T, max(E, F, H * D)]

    const table = this.ropeTable(firstPosition, tokens);
    this.context.write(buffers.ropeTable, table);
    this.context.write(buffers.lastRopeTable, table.subarray((tokens - 1) * ropeDimensionCount));
    return buffers;
  }

  /** Returns the (cos, sin) table [tokens, rot / 2, 2] of positions firstPosition .. firstPosition + tokens - 1. */
  private ropeTable(firstPosition: number, tokens: number): Float32Array {
    const pairs = this.config.ropeDimensionCount / 2;
    const table = new Float32Array(tokens * pairs * 2);
    for (let t = 0; t < tokens; t++) {
      for (let i = 0; i < pairs; i++) {
        const angle = (firstPosition + t) * this.inverseFrequencies[i]!;
        table[2 * (t * pairs + i)] = Math.cos(angle);
        table[2 * (t * pairs + i) + 1] = Math.sin(angle);
      }
    }
    return table;
  }

  private checkTokens(tokens: number[], firstPosition: number, capacity: number, classTokenIds: number[] | undefined): void {
    const { vocabSize } = this.config;
    if (tokens.length === 0) throw new InvalidInputError("forward: the token list is empty; pass at least one token id");
    if (firstPosition + tokens.length > capacity) {
      throw new InvalidInputError(
        `forward: ${firstPosition} cached + ${tokens.length} new tokens exceed the capacity of ${capacity} positions; shorten the input or use a larger cache`,
      );
    }
    if (classTokenIds && classTokenIds.length === 0) throw new InvalidInputError("forward: classTokenIds is empty; pass at least one id or omit it");
    for (const [label, ids] of [["token", tokens], ["class token", classTokenIds ?? []]] as const) {
      for (const id of ids) {
        if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
          throw new InvalidInputError(`forward: ${label} id ${id} is outside the vocabulary [0, ${vocabSize}); check the tokenizer matches the model`);
        }
      }
    }
  }
}
