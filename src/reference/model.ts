// The reference forward pass: plain float32 TypeScript, block by block, compared with llama.cpp
// and used to check the GPU kernels.

import { InvalidInputError } from "../errors.js";
import { readModelConfig, type ModelConfig, type ModelFile } from "../model/config.js";
import { matmulLikeLlamaCpp, type StoredMatrix } from "./activation-rounding.js";
import { causalAttention } from "./attention.js";
import { KVCache } from "./kv-cache.js";
import { addInPlace, matmul } from "./matmul.js";
import { swiGluMlp } from "./mlp.js";
import { rmsNorm } from "./norm.js";
import { applyRope, ropeInverseFrequencies, type RopeParameters } from "./rope.js";
import { loadReferenceWeights, type LayerMatrixName, type LayerWeights, type ReferenceWeights } from "./weights.js";

export interface ReferenceModelOptions {
  /**
   * "none" (the default) computes every product on float32 activations. "llama.cpp" first rounds
   * each product's input as llama.cpp's CPU backend does for the weight's stored type (see
   * activation-rounding.ts), for tight comparisons on quantized files. It needs the stored types,
   * so it applies only to models built by `load`.
   */
  activationRounding?: "none" | "llama.cpp";
}

export interface ForwardOptions {
  /** Tokens are appended after the cache's positions, and the cache is extended with them. */
  cache?: KVCache;
  /** When given, `logits` has one entry per id, in this order, in place of the full vocabulary. */
  classTokenIds?: number[];
}

export class ReferenceModel {
  private readonly ropeParameters: RopeParameters;
  private readonly inverseFrequencies: Float64Array;

  private constructor(
    readonly config: ModelConfig,
    private readonly weights: ReferenceWeights,
    private readonly activationRounding: "none" | "llama.cpp" = "none",
  ) {
    this.ropeParameters = {
      headDim: config.headDim,
      ropeDimensionCount: config.ropeDimensionCount,
      ropeFreqBase: config.ropeFreqBase,
      ropeStyle: config.ropeStyle,
      scalingFactor: config.ropeScaling.factor,
      frequencyFactors: weights.ropeFrequencyFactors,
    };
    this.inverseFrequencies = ropeInverseFrequencies(this.ropeParameters);
  }

  /** Reads the config and all weights of `file`, dequantizing them to float32. */
  static async load(file: ModelFile, options: { signal?: AbortSignal } & ReferenceModelOptions = {}): Promise<ReferenceModel> {
    const config = readModelConfig(file);
    const weights = await loadReferenceWeights(file, config, options.signal);
    return new ReferenceModel(config, weights, options.activationRounding);
  }

  /** Builds a model from weights in memory; throws `InvalidInputError` when a length does not match `config`. */
  static fromWeights(config: ModelConfig, weights: ReferenceWeights): ReferenceModel {
    checkWeightLengths(config, weights);
    return new ReferenceModel(config, weights);
  }

  createKVCache(): KVCache {
    return new KVCache(this.config.layerCount, this.config.headCountKV * this.config.headDim, this.config.contextLength);
  }

  /** Runs `tokens` through the model and returns the logits of the last position. */
  forward(tokens: number[], options: ForwardOptions = {}): { logits: Float32Array } {
    const config = this.config;
    const cache = options.cache ?? this.createKVCache();
    if (cache.layerCount !== config.layerCount || cache.rowWidth !== config.headCountKV * config.headDim) {
      throw new InvalidInputError(
        `forward: the KV cache has ${cache.layerCount} layers of width ${cache.rowWidth} but the model needs ${config.layerCount} of width ${config.headCountKV * config.headDim}; create it with this model's createKVCache()`,
      );
    }
    const firstPosition = cache.length;
    this.checkTokens(tokens, firstPosition, options.classTokenIds);

    const embd = config.embeddingLength;
    const rows = tokens.length;

    // x: [rows, embd], the residual stream.
    const x = new Float32Array(rows * embd);
    tokens.forEach((token, r) => x.set(this.weights.tokenEmbedding.subarray(token * embd, (token + 1) * embd), r * embd));

    for (let layer = 0; layer < config.layerCount; layer++) {
      const weights = this.weights.layers[layer]!;

      const attentionInput = rmsNorm(x, weights.attentionNorm, config.rmsNormEpsilon, embd); // [rows, embd]
      addInPlace(x, this.attentionBlock(attentionInput, weights, cache, layer, firstPosition));

      const mlpInput = rmsNorm(x, weights.feedForwardNorm, config.rmsNormEpsilon, embd); // [rows, embd]
      addInPlace(x, swiGluMlp(mlpInput, weights, embd, config.feedForwardLength, (input, weight, inFeatures, outFeatures, matrix) => this.product(input, weight, inFeatures, outFeatures, storedMatrix(weights, matrix))));
    }
    cache.commit(rows);

    // Only the last position's logits are computed.
    const normalized = rmsNorm(x.subarray((rows - 1) * embd), this.weights.outputNorm, config.rmsNormEpsilon, embd); // [embd]
    const output = this.weights.output ?? this.weights.tokenEmbedding; // [vocab, embd]
    const stored: StoredMatrix = { type: this.weights.outputStoredType, blockMinimums: this.weights.outputBlockMinimums };
    const ids = options.classTokenIds;
    if (ids === undefined) return { logits: this.product(normalized, output, embd, config.vocabSize, stored) };

    // Only the class tokens' rows of the output projection: [ids.length, embd].
    const classRows = gatherRows(output, ids, embd);
    const minimums = stored.blockMinimums === undefined ? undefined : gatherRows(stored.blockMinimums, ids, embd / 32);
    return { logits: this.product(normalized, classRows, embd, ids.length, { type: stored.type, blockMinimums: minimums }) };
  }

  /** Returns the attention block's output [rows, embd] and writes this layer's keys and values to `cache`. */
  private attentionBlock(input: Float32Array, weights: LayerWeights, cache: KVCache, layer: number, firstPosition: number): Float32Array {
    const { embeddingLength: embd, headCount, headCountKV, headDim, rmsNormEpsilon } = this.config;
    const queryWidth = headCount * headDim;
    const kvWidth = headCountKV * headDim;

    const queries = this.product(input, weights.query, embd, queryWidth, storedMatrix(weights, "query"), weights.queryBias); // [rows, heads * headDim]
    const keys = this.product(input, weights.key, embd, kvWidth, storedMatrix(weights, "key"), weights.keyBias); // [rows, kvHeads * headDim]
    const values = this.product(input, weights.value, embd, kvWidth, storedMatrix(weights, "value"), weights.valueBias); // [rows, kvHeads * headDim]

    // qwen3 normalizes each head of the queries and keys before RoPE.
    if (weights.queryNorm !== undefined) rmsNorm(queries, weights.queryNorm, rmsNormEpsilon, headDim, queries);
    if (weights.keyNorm !== undefined) rmsNorm(keys, weights.keyNorm, rmsNormEpsilon, headDim, keys);

    applyRope(queries, headCount, firstPosition, this.ropeParameters, this.inverseFrequencies);
    applyRope(keys, headCountKV, firstPosition, this.ropeParameters, this.inverseFrequencies);
    cache.write(layer, keys, values);

    const attended = causalAttention(queries, cache, layer, firstPosition, { headCount, headCountKV, headDim }); // [rows, heads * headDim]
    return this.product(attended, weights.attentionOutput, queryWidth, embd, storedMatrix(weights, "attentionOutput"), weights.attentionOutputBias); // [rows, embd]
  }

  /** Returns input · weightᵀ + bias, in float32 or as llama.cpp computes it for the matrix's stored type. */
  private product(input: Float32Array, weight: Float32Array, inFeatures: number, outFeatures: number, stored: StoredMatrix, bias?: Float32Array): Float32Array {
    if (this.activationRounding === "none") return matmul(input, weight, inFeatures, outFeatures, bias);
    return matmulLikeLlamaCpp(input, weight, inFeatures, outFeatures, stored, bias);
  }

  private checkTokens(tokens: number[], firstPosition: number, classTokenIds: number[] | undefined): void {
    const { vocabSize, contextLength } = this.config;
    if (tokens.length === 0) throw new InvalidInputError("forward: the token list is empty; pass at least one token id");
    if (firstPosition + tokens.length > contextLength) {
      throw new InvalidInputError(
        `forward: ${firstPosition} cached + ${tokens.length} new tokens exceed the context length ${contextLength}; shorten the input or clear the cache`,
      );
    }
    for (const [label, ids] of [["token", tokens], ["class token", classTokenIds ?? []]] as const) {
      for (const id of ids) {
        if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
          throw new InvalidInputError(`forward: ${label} id ${id} is outside the vocabulary [0, ${vocabSize}); check the tokenizer matches the model`);
        }
      }
    }
  }
}

function storedMatrix(weights: LayerWeights, matrix: LayerMatrixName): StoredMatrix {
  return { type: weights.storedTypes?.[matrix], blockMinimums: weights.blockMinimums?.[matrix] };
}

/** Returns the rows `ids` of a row-major [*, width] array, in that order. */
function gatherRows(values: Float32Array, ids: number[], width: number): Float32Array {
  const out = new Float32Array(ids.length * width);
  ids.forEach((id, i) => out.set(values.subarray(id * width, (id + 1) * width), i * width));
  return out;
}

/** Returns log(softmax(logits)), computed in float64 with the max subtracted first. */
export function logSoftmax(logits: Float32Array): Float32Array {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i]! > max) max = logits[i]!;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - max);
  const logSum = max + Math.log(sum);

  const out = new Float32Array(logits.length);
  for (let i = 0; i < logits.length; i++) out[i] = logits[i]! - logSum;
  return out;
}

function checkWeightLengths(config: ModelConfig, weights: ReferenceWeights): void {
  const { embeddingLength: embd, headDim, feedForwardLength: ffn, vocabSize } = config;
  const queryWidth = config.headCount * headDim;
  const kvWidth = config.headCountKV * headDim;

  const check = (name: string, array: Float32Array | undefined, length: number, required = true): void => {
    if (array === undefined) {
      if (required) throw new InvalidInputError(`fromWeights: weight "${name}" is missing; the config requires it`);
      return;
    }
    if (array.length !== length) {
      throw new InvalidInputError(`fromWeights: weight "${name}" has ${array.length} elements but the config implies ${length}`);
    }
  };

  check("tokenEmbedding", weights.tokenEmbedding, vocabSize * embd);
  check("outputNorm", weights.outputNorm, embd);
  check("output", weights.output, vocabSize * embd, !config.tiedOutput);
  check("ropeFrequencyFactors", weights.ropeFrequencyFactors, config.ropeDimensionCount / 2, false);
  if (weights.layers.length !== config.layerCount) {
    throw new InvalidInputError(`fromWeights: ${weights.layers.length} layers given but the config has ${config.layerCount}`);
  }
  weights.layers.forEach((layer, i) => {
    const at = (name: string) => `layers[${i}].${name}`;
    check(at("attentionNorm"), layer.attentionNorm, embd);
    check(at("query"), layer.query, queryWidth * embd);
    check(at("key"), layer.key, kvWidth * embd);
    check(at("value"), layer.value, kvWidth * embd);
    check(at("attentionOutput"), layer.attentionOutput, embd * queryWidth);
    check(at("queryBias"), layer.queryBias, queryWidth, false);
    check(at("keyBias"), layer.keyBias, kvWidth, false);
    check(at("valueBias"), layer.valueBias, kvWidth, false);
    check(at("attentionOutputBias"), layer.attentionOutputBias, embd, false);
    check(at("queryNorm"), layer.queryNorm, headDim, config.queryKeyNorm);
    check(at("keyNorm"), layer.keyNorm, headDim, config.queryKeyNorm);
    check(at("feedForwardNorm"), layer.feedForwardNorm, embd);
    check(at("gate"), layer.gate, ffn * embd);
    check(at("up"), layer.up, ffn * embd);
    check(at("down"), layer.down, embd * ffn);
  });
}
