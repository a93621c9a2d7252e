// Writes a reference model's config and weights as a GGUF file that llama.cpp can load.

import { byteFallbackVocabulary } from "../../src/fixtures/stories260k.js";
import { meta } from "../../src/gguf/metadata.js";
import { quantize } from "../../src/gguf/quant.js";
import { GGMLType, type GGUFMetadataValue } from "../../src/gguf/types.js";
import { writeGGUF, type GGUFWriteTensor } from "../../src/gguf/writer.js";
import type { ModelConfig } from "../../src/model/config.js";
import { OUTPUT, OUTPUT_NORM, ROPE_FREQUENCIES, TOKEN_EMBEDDING, layerTensorNames } from "../../src/model/tensor-names.js";
import type { ReferenceWeights } from "../../src/reference/index.js";

/**
 * Encodes `config` and `weights` as GGUF bytes. Matrices are stored as `matrixType` (a type, or a
 * function of the tensor name), and vectors
 * (norms, biases, RoPE frequency factors) stay F32. The tokenizer is a byte-fallback
 * SentencePiece vocabulary of `config.vocabSize` entries (at least 259).
 */
export function encodeModelAsGGUF(config: ModelConfig, weights: ReferenceWeights, matrixType: GGMLType | ((tensor: string) => GGMLType) = GGMLType.F32): Uint8Array {
  const typeFor = typeof matrixType === "function" ? matrixType : () => matrixType;
  const arch = config.architecture;
  const metadata: Record<string, GGUFMetadataValue> = {
    "general.architecture": meta.str(arch),
    "general.name": meta.str(`synthetic ${arch}`),
    [`${arch}.context_length`]: meta.u32(config.contextLength),
    [`${arch}.embedding_length`]: meta.u32(config.embeddingLength),
    [`${arch}.block_count`]: meta.u32(config.layerCount),
    [`${arch}.feed_forward_length`]: meta.u32(config.feedForwardLength),
    [`${arch}.attention.head_count`]: meta.u32(config.headCount),
    [`${arch}.attention.head_count_kv`]: meta.u32(config.headCountKV),
    [`${arch}.attention.key_length`]: meta.u32(config.headDim),
    [`${arch}.attention.value_length`]: meta.u32(config.headDim),
    [`${arch}.attention.layer_norm_rms_epsilon`]: meta.f32(config.rmsNormEpsilon),
    [`${arch}.rope.freq_base`]: meta.f32(config.ropeFreqBase),
    [`${arch}.rope.dimension_count`]: meta.u32(config.ropeDimensionCount),
    ...byteFallbackVocabulary(config.vocabSize),
  };
  if (config.ropeScaling.type === "linear") {
    metadata[`${arch}.rope.scaling.type`] = meta.str("linear");
    metadata[`${arch}.rope.scaling.factor`] = meta.f32(config.ropeScaling.factor);
  }

  const tensors: GGUFWriteTensor[] = [];
  const vector = (name: string, values: Float32Array | undefined) => {
    if (values === undefined) return;
    tensors.push({ name, dims: [values.length], type: GGMLType.F32, data: quantize(GGMLType.F32, values) });
  };
  // A row-major [rows, columns] matrix is a GGUF tensor with dims [columns, rows].
  const matrix = (name: string, values: Float32Array, columns: number) => {
    const type = typeFor(name);
    tensors.push({ name, dims: [columns, values.length / columns], type, data: quantize(type, values) });
  };

  const embd = config.embeddingLength;
  const queryWidth = config.headCount * config.headDim;
  matrix(TOKEN_EMBEDDING, weights.tokenEmbedding, embd);
  weights.layers.forEach((layer, index) => {
    const names = layerTensorNames(index);
    vector(names.attentionNorm, layer.attentionNorm);
    matrix(names.query, layer.query, embd);
    matrix(names.key, layer.key, embd);
    matrix(names.value, layer.value, embd);
    matrix(names.attentionOutput, layer.attentionOutput, queryWidth);
    vector(names.queryBias, layer.queryBias);
    vector(names.keyBias, layer.keyBias);
    vector(names.valueBias, layer.valueBias);
    vector(names.attentionOutputBias, layer.attentionOutputBias);
    vector(names.queryNorm, layer.queryNorm);
    vector(names.keyNorm, layer.keyNorm);
    vector(names.feedForwardNorm, layer.feedForwardNorm);
    matrix(names.gate, layer.gate, embd);
    matrix(names.up, layer.up, embd);
    matrix(names.down, layer.down, config.feedForwardLength);
  });
  vector(OUTPUT_NORM, weights.outputNorm);
  vector(ROPE_FREQUENCIES, weights.ropeFrequencyFactors);
  if (weights.output !== undefined) matrix(OUTPUT, weights.output, embd);

  return writeGGUF({ metadata, tensors });
}
