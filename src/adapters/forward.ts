// A LoRA-aware forward pass built from the reference model's blocks (norm, RoPE, attention,
// matmul). Without an adapter it computes exactly what `ReferenceModel.forward` computes. With one,
// every targeted projection adds scale · B·(A·x), either on every row ("classic" LoRA) or only on
// rows from `adapterFromRow` on ("activated" LoRA: the metric's suffix tokens).

import { InvalidInputError } from "../errors.js";
import type { ModelConfig } from "../model/config.js";
import { causalAttention } from "../reference/attention.js";
import { KVCache } from "../reference/kv-cache.js";
import { addInPlace, dot, matmul } from "../reference/matmul.js";
import { rmsNorm } from "../reference/norm.js";
import { applyRope, ropeInverseFrequencies, type RopeParameters } from "../reference/rope.js";
import type { LayerWeights, ReferenceWeights } from "../reference/weights.js";
import { loraDelta, loraWeightName, type LoraAdapter, type LoraTarget } from "./lora.js";

export interface LoraForwardOptions {
  /** Tokens are appended after the cache's positions, and the cache is extended with them. */
  cache?: KVCache;
  /** When given, `logits` has one entry per id, in this order, in place of the full vocabulary. */
  classTokenIds?: number[];
  /** Adapter to apply; none runs the base weights. */
  adapter?: LoraAdapter;
  /** First row of `tokens` the adapter acts on; 0 (every row) when omitted. */
  adapterFromRow?: number;
}

export class LoraReferenceModel {
  private readonly ropeParameters: RopeParameters;
  private readonly inverseFrequencies: Float64Array;

  constructor(
    readonly config: ModelConfig,
    readonly weights: ReferenceWeights,
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

  createKVCache(): KVCache {
    return new KVCache(this.config.layerCount, this.config.headCountKV * this.config.headDim, this.config.contextLength);
  }

  /** Returns a new cache holding a copy of every position stored in `cache`. */
  forkKVCache(cache: KVCache): KVCache {
    const copy = this.createKVCache();
    if (cache.length === 0) return copy;
    const elements = cache.length * cache.rowWidth;
    for (let layer = 0; layer < this.config.layerCount; layer++) {
      copy.write(layer, cache.layerKeys(layer).subarray(0, elements), cache.layerValues(layer).subarray(0, elements));
    }
    copy.commit(cache.length);
    return copy;
  }

  /** Runs `tokens` through the model and returns the logits of the last position. */
  forward(tokens: number[], options: LoraForwardOptions = {}): { logits: Float32Array } {
    const config = this.config;
    const cache = options.cache ?? this.createKVCache();
    const firstPosition = cache.length;
    this.checkTokens(tokens, firstPosition, options.classTokenIds);

    const embd = config.embeddingLength;
    const rows = tokens.length;
    const lora = new LoraContext(options.adapter, options.adapterFromRow ?? 0);

    // x: [rows, embd], the residual stream.
    const x = new Float32Array(rows * embd);
    tokens.forEach((token, r) => x.set(this.weights.tokenEmbedding.subarray(token * embd, (token + 1) * embd), r * embd));

    for (let layer = 0; layer < config.layerCount; layer++) {
      const weights = this.weights.layers[layer]!;

      const attentionInput = rmsNorm(x, weights.attentionNorm, config.rmsNormEpsilon, embd); // [rows, embd]
      addInPlace(x, this.attentionBlock(attentionInput, weights, cache, layer, firstPosition, lora));

      const mlpInput = rmsNorm(x, weights.feedForwardNorm, config.rmsNormEpsilon, embd); // [rows, embd]
      addInPlace(x, this.mlpBlock(mlpInput, weights, layer, lora));
    }
    cache.commit(rows);

    // Only the last position's logits are computed.
    const last = rmsNorm(x.subarray((rows - 1) * embd), this.weights.outputNorm, config.rmsNormEpsilon, embd); // [embd]
    const output = this.weights.output ?? this.weights.tokenEmbedding; // [vocab, embd]
    const ids = options.classTokenIds;
    if (ids === undefined) return { logits: matmul(last, output, embd, config.vocabSize) };

    const logits = new Float32Array(ids.length);
    ids.forEach((id, i) => (logits[i] = dot(output, id * embd, last, 0, embd)));
    return { logits };
  }

  private attentionBlock(input: Float32Array, weights: LayerWeights, cache: KVCache, layer: number, firstPosition: number, lora: LoraContext): Float32Array {
    const { embeddingLength: embd, headCount, headCountKV, headDim, rmsNormEpsilon } = this.config;
    const queryWidth = headCount * headDim;
    const kvWidth = headCountKV * headDim;

    const queries = lora.project(input, weights.query, embd, queryWidth, weights.queryBias, layer, "attn_q"); // [rows, heads * headDim]
    const keys = lora.project(input, weights.key, embd, kvWidth, weights.keyBias, layer, "attn_k"); // [rows, kvHeads * headDim]
    const values = lora.project(input, weights.value, embd, kvWidth, weights.valueBias, layer, "attn_v"); // [rows, kvHeads * headDim]

    // qwen3 normalizes each head of the queries and keys before RoPE.
    if (weights.queryNorm !== undefined) rmsNorm(queries, weights.queryNorm, rmsNormEpsilon, headDim, queries);
    if (weights.keyNorm !== undefined) rmsNorm(keys, weights.keyNorm, rmsNormEpsilon, headDim, keys);

    applyRope(queries, headCount, firstPosition, this.ropeParameters, this.inverseFrequencies);
    applyRope(keys, headCountKV, firstPosition, this.ropeParameters, this.inverseFrequencies);
    cache.write(layer, keys, values);

    const attended = causalAttention(queries, cache, layer, firstPosition, { headCount, headCountKV, headDim }); // [rows, heads * headDim]
    return lora.project(attended, weights.attentionOutput, queryWidth, embd, weights.attentionOutputBias, layer, "attn_output"); // [rows, embd]
  }

  /** SwiGLU: down(silu(gate(x)) * up(x)), each projection with its LoRA term. */
  private mlpBlock(input: Float32Array, weights: LayerWeights, layer: number, lora: LoraContext): Float32Array {
    const { embeddingLength: embd, feedForwardLength: ffn } = this.config;
    const gate = lora.project(input, weights.gate, embd, ffn, undefined, layer, "ffn_gate"); // [rows, ffn]
    const up = lora.project(input, weights.up, embd, ffn, undefined, layer, "ffn_up"); // [rows, ffn]

    for (let i = 0; i < gate.length; i++) {
      const g = gate[i]!;
      gate[i] = (g / (1 + Math.exp(-g))) * up[i]!;
    }
    return lora.project(gate, weights.down, ffn, embd, undefined, layer, "ffn_down"); // [rows, embd]
  }

  private checkTokens(tokens: number[], firstPosition: number, classTokenIds: number[] | undefined): void {
    const { vocabSize, contextLength } = this.config;
    if (tokens.length === 0) throw new InvalidInputError("LoRA forward: the token list is empty; pass at least one token id");
    if (firstPosition + tokens.length > contextLength) {
      throw new InvalidInputError(
        `LoRA forward: ${firstPosition} cached + ${tokens.length} new tokens exceed the context length ${contextLength}; shorten the input or clear the cache`,
      );
    }
    for (const id of [...tokens, ...(classTokenIds ?? [])]) {
      if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
        throw new InvalidInputError(`LoRA forward: token id ${id} is outside the vocabulary [0, ${vocabSize}); check the tokenizer matches the model`);
      }
    }
  }
}

/** The adapter of one forward call and the first row it acts on. */
class LoraContext {
  constructor(
    private readonly adapter: LoraAdapter | undefined,
    private readonly fromRow: number,
  ) {}

  /** Returns input · Wᵀ + bias [rows, outFeatures], plus the adapter's term for this weight when it has one. */
  project(input: Float32Array, weight: Float32Array, inFeatures: number, outFeatures: number, bias: Float32Array | undefined, layer: number, target: LoraTarget): Float32Array {
    const output = matmul(input, weight, inFeatures, outFeatures, bias);
    const matrix = this.adapter?.matrices.get(loraWeightName(layer, target));
    if (matrix === undefined || this.fromRow >= input.length / inFeatures) return output;

    addInPlace(output, loraDelta(input, matrix, this.fromRow));
    return output;
  }
}
