// Float32 weights of the reference model, read (and dequantized) from a GGUF file.

import { GGUFFormatError, throwIfAborted } from "../errors.js";
import type { ModelConfig, ModelFile } from "../model/config.js";
import { OUTPUT, OUTPUT_NORM, ROPE_FREQUENCIES, TOKEN_EMBEDDING, layerTensorNames } from "../model/tensor-names.js";
import { GGMLType } from "../gguf/types.js";
import { readQ4_1BlockMinimums } from "./block-minimums.js";
import type { MlpWeights } from "./mlp.js";

/** Names of the projection matrices of a block. */
export type LayerMatrixName = "query" | "key" | "value" | "attentionOutput" | "gate" | "up" | "down";

/** One transformer block. Matrices are row-major [out, in], the order GGUF stores them. */
export interface LayerWeights extends MlpWeights {
  /** [embeddingLength] */
  attentionNorm: Float32Array;
  /** [headCount * headDim, embeddingLength] */
  query: Float32Array;
  /** [headCountKV * headDim, embeddingLength] */
  key: Float32Array;
  /** [headCountKV * headDim, embeddingLength] */
  value: Float32Array;
  /** [embeddingLength, headCount * headDim] */
  attentionOutput: Float32Array;
  /** [headCount * headDim], present in qwen2 and some llama models. */
  queryBias?: Float32Array;
  /** [headCountKV * headDim] */
  keyBias?: Float32Array;
  /** [headCountKV * headDim] */
  valueBias?: Float32Array;
  /** [embeddingLength] */
  attentionOutputBias?: Float32Array;
  /** [headDim], per-head RMSNorm weight of queries (qwen3). */
  queryNorm?: Float32Array;
  /** [headDim], per-head RMSNorm weight of keys (qwen3). */
  keyNorm?: Float32Array;
  /** [embeddingLength] */
  feedForwardNorm: Float32Array;
  /** Tensor type each matrix had in the file, when loaded from one; used only to emulate llama.cpp's activation rounding. */
  storedTypes?: Partial<Record<LayerMatrixName, GGMLType>>;
  /** Block minimums [out, in / 32] of the matrices stored as Q4_1; used only to emulate llama.cpp's Q4_1 product. */
  blockMinimums?: Partial<Record<LayerMatrixName, Float32Array>>;
}

export interface ReferenceWeights {
  /** [vocabSize, embeddingLength] */
  tokenEmbedding: Float32Array;
  layers: LayerWeights[];
  /** [embeddingLength] */
  outputNorm: Float32Array;
  /** [vocabSize, embeddingLength]; absent when the output projection is tied to `tokenEmbedding`. */
  output?: Float32Array;
  /** [ropeDimensionCount / 2] */
  ropeFrequencyFactors?: Float32Array;
  /** Tensor type of the output projection in the file (of `token_embd.weight` when tied). */
  outputStoredType?: GGMLType;
  /** Block minimums [vocabSize, embeddingLength / 32] of the output projection when it is stored as Q4_1. */
  outputBlockMinimums?: Float32Array;
}

/**
 * Reads every weight the forward pass uses, checking each tensor's shape against `config`.
 * NOTE: every matrix is held as float32, so memory is 4 bytes per parameter whatever the file's
 * quantization; this suits small models and tests.
 */
export async function loadReferenceWeights(file: ModelFile, config: ModelConfig, signal?: AbortSignal): Promise<ReferenceWeights> {
  const fileName = file.name;
  const { embeddingLength: embd, headDim, feedForwardLength: ffn, vocabSize } = config;
  const queryWidth = config.headCount * headDim;
  const kvWidth = config.headCountKV * headDim;

  const read = async (name: string, dims: number[]): Promise<Float32Array> => {
    throwIfAborted(signal);
    const actual = file.tensor(name).dims;
    if (actual.length !== dims.length || actual.some((size, i) => size !== dims[i])) {
      throw new GGUFFormatError(
        fileName,
        `tensor "${name}" dims`,
        `[${actual.join(", ")}] does not match the [${dims.join(", ")}] the hyperparameters imply; the metadata and tensors disagree`,
      );
    }
    return file.readTensorF32(name, signal);
  };
  const readBlockMinimums = async (name: string): Promise<Float32Array | undefined> => {
    const info = file.tensor(name);
    if (info.type !== GGMLType.Q4_1 || file.readTensorBytes === undefined) return undefined;
    return readQ4_1BlockMinimums(await file.readTensorBytes(name, signal), info.elementCount, `${fileName}: tensor "${name}"`);
  };
  const readOptional = async (name: string, dims: number[]): Promise<Float32Array | undefined> =>
    file.hasTensor(name) ? read(name, dims) : undefined;

  const tokenEmbedding = await read(TOKEN_EMBEDDING, [embd, vocabSize]);
  const layers: LayerWeights[] = [];
  for (let layer = 0; layer < config.layerCount; layer++) {
    const names = layerTensorNames(layer);
    layers.push({
      attentionNorm: await read(names.attentionNorm, [embd]),
      query: await read(names.query, [embd, queryWidth]),
      key: await read(names.key, [embd, kvWidth]),
      value: await read(names.value, [embd, kvWidth]),
      attentionOutput: await read(names.attentionOutput, [queryWidth, embd]),
      queryBias: await readOptional(names.queryBias, [queryWidth]),
      keyBias: await readOptional(names.keyBias, [kvWidth]),
      valueBias: await readOptional(names.valueBias, [kvWidth]),
      attentionOutputBias: await readOptional(names.attentionOutputBias, [embd]),
      queryNorm: config.queryKeyNorm ? await read(names.queryNorm, [headDim]) : undefined,
      keyNorm: config.queryKeyNorm ? await read(names.keyNorm, [headDim]) : undefined,
      feedForwardNorm: await read(names.feedForwardNorm, [embd]),
      gate: await read(names.gate, [embd, ffn]),
      up: await read(names.up, [embd, ffn]),
      down: await read(names.down, [ffn, embd]),
      storedTypes: {
        query: file.tensor(names.query).type,
        key: file.tensor(names.key).type,
        value: file.tensor(names.value).type,
        attentionOutput: file.tensor(names.attentionOutput).type,
        gate: file.tensor(names.gate).type,
        up: file.tensor(names.up).type,
        down: file.tensor(names.down).type,
      },
      blockMinimums: {
        query: await readBlockMinimums(names.query),
        key: await readBlockMinimums(names.key),
        value: await readBlockMinimums(names.value),
        attentionOutput: await readBlockMinimums(names.attentionOutput),
        gate: await readBlockMinimums(names.gate),
        up: await readBlockMinimums(names.up),
        down: await readBlockMinimums(names.down),
      },
    });
  }

  return {
    tokenEmbedding,
    layers,
    outputNorm: await read(OUTPUT_NORM, [embd]),
    output: config.tiedOutput ? undefined : await read(OUTPUT, [embd, vocabSize]),
    ropeFrequencyFactors: config.ropeFrequencyFactors ? await read(ROPE_FREQUENCIES, [config.ropeDimensionCount / 2]) : undefined,
    outputStoredType: file.tensor(config.tiedOutput ? TOKEN_EMBEDDING : OUTPUT).type,
    outputBlockMinimums: await readBlockMinimums(config.tiedOutput ? TOKEN_EMBEDDING : OUTPUT),
  };
}
