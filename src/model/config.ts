// Model hyperparameters read from GGUF metadata, for the decoder architectures the forward pass implements.

import { GGUFFormatError, ModelUnsupportedError } from "../errors.js";
import type { GGUFTensorInfo } from "../gguf/types.js";
import { OUTPUT, ROPE_FREQUENCIES, TOKEN_EMBEDDING, layerTensorNames } from "./tensor-names.js";

export const SUPPORTED_ARCHITECTURES = ["llama", "qwen2", "qwen3"] as const;
export type Architecture = (typeof SUPPORTED_ARCHITECTURES)[number];

/**
 * Pairing of the dimensions RoPE rotates together, as llama.cpp applies it. "normal" rotates
 * (x[2i], x[2i + 1]) and is used for llama. "neox" rotates (x[i], x[i + d/2]) and is used for qwen2 and qwen3.
 */
export type RopeStyle = "normal" | "neox";

/** RoPE position scaling. "linear" divides every position by `factor`. */
export interface RopeScaling {
  type: "none" | "linear";
  factor: number;
}

export interface ModelConfig {
  architecture: Architecture;
  layerCount: number;
  /** Hidden size, n_embd. */
  embeddingLength: number;
  feedForwardLength: number;
  headCount: number;
  /** Key/value heads. Grouped-query attention shares each among headCount / headCountKV query heads. */
  headCountKV: number;
  /** Per-head size of queries, keys and values. It can differ from embeddingLength / headCount (qwen3). */
  headDim: number;
  rmsNormEpsilon: number;
  ropeFreqBase: number;
  /** Leading dimensions of each head that RoPE rotates; the rest pass through unchanged. */
  ropeDimensionCount: number;
  ropeStyle: RopeStyle;
  ropeScaling: RopeScaling;
  /** Whether the file has `rope_freqs.weight`, per-pair divisors of the RoPE frequencies. */
  ropeFrequencyFactors: boolean;
  /** Training context length, the max positions a sequence may use. */
  contextLength: number;
  vocabSize: number;
  /** True when the file has no `output.weight`, so the output projection reuses `token_embd.weight`. */
  tiedOutput: boolean;
  /** Whether each block has per-head RMSNorm on queries and keys (`attn_q_norm`, `attn_k_norm`). */
  queryKeyNorm: boolean;
}

/** The part of a parsed GGUF file that model loading reads (a subset of `GGUFFile`). */
export interface ModelFile {
  readonly architecture: string;
  /** Path or URL of the file, named in error messages. */
  readonly name: string;
  getOptionalString(key: string): string | undefined;
  getOptionalNumber(key: string): number | undefined;
  hasTensor(name: string): boolean;
  tensor(name: string): GGUFTensorInfo;
  readTensorF32(name: string, signal?: AbortSignal): Promise<Float32Array>;
  /** Encoded bytes of a tensor; the reference uses them only to emulate llama.cpp's Q4_1 product. */
  readTensorBytes?(name: string, signal?: AbortSignal): Promise<Uint8Array>;
}

const ROPE_STYLES: Record<Architecture, RopeStyle> = {
  llama: "normal",
  qwen2: "neox",
  qwen3: "neox",
};

/** Reads and validates the hyperparameters of a llama, qwen2 or qwen3 model. */
export function readModelConfig(file: ModelFile): ModelConfig {
  const fileName = file.name;
  const architecture = file.architecture;
  if (!(SUPPORTED_ARCHITECTURES as readonly string[]).includes(architecture)) {
    throw new ModelUnsupportedError(
      `${fileName}: architecture "${architecture}" is not supported; supported architectures are ${SUPPORTED_ARCHITECTURES.join(", ")}`,
    );
  }
  const arch = architecture as Architecture;

  const required = (key: string): number => {
    const value = file.getOptionalNumber(`${arch}.${key}`);
    if (value === undefined) {
      throw new GGUFFormatError(fileName, `metadata["${arch}.${key}"]`, `missing; the model file is incomplete, so re-convert it with llama.cpp's convert_hf_to_gguf.py`);
    }
    return value;
  };
  const optional = (key: string): number | undefined => file.getOptionalNumber(`${arch}.${key}`);

  const embeddingLength = required("embedding_length");
  const headCount = required("attention.head_count");
  const headCountKV = optional("attention.head_count_kv") ?? headCount;
  const headDim = optional("attention.key_length") ?? embeddingLength / headCount;
  const valueHeadDim = optional("attention.value_length") ?? headDim;

  const embedding = file.tensor(TOKEN_EMBEDDING);
  const config: ModelConfig = {
    architecture: arch,
    layerCount: required("block_count"),
    embeddingLength,
    feedForwardLength: required("feed_forward_length"),
    headCount,
    headCountKV,
    headDim,
    rmsNormEpsilon: required("attention.layer_norm_rms_epsilon"),
    ropeFreqBase: optional("rope.freq_base") ?? 10000,
    ropeDimensionCount: optional("rope.dimension_count") ?? headDim,
    ropeStyle: ROPE_STYLES[arch],
    ropeScaling: readRopeScaling(file, arch, fileName),
    ropeFrequencyFactors: file.hasTensor(ROPE_FREQUENCIES),
    contextLength: required("context_length"),
    vocabSize: optional("vocab_size") ?? embedding.dims[1] ?? 0,
    tiedOutput: !file.hasTensor(OUTPUT),
    queryKeyNorm: file.hasTensor(layerTensorNames(0).queryNorm),
  };

  if (valueHeadDim !== headDim) {
    throw new ModelUnsupportedError(
      `${fileName}: value head size ${valueHeadDim} differs from key head size ${headDim}; the forward pass needs equal sizes`,
    );
  }
  if (arch === "qwen3" && !config.queryKeyNorm) {
    throw new ModelUnsupportedError(`${fileName}: qwen3 model has no "${layerTensorNames(0).queryNorm}"; the file does not match its declared architecture`);
  }
  validateConfig(config, fileName);
  return config;
}

function readRopeScaling(file: ModelFile, arch: Architecture, fileName: string): RopeScaling {
  const type = file.getOptionalString(`${arch}.rope.scaling.type`);
  const factor = file.getOptionalNumber(`${arch}.rope.scaling.factor`);
  // Older converters wrote linear scaling as a single `rope.scale_linear` key.
  const legacyLinearFactor = file.getOptionalNumber(`${arch}.rope.scale_linear`);

  if (type === undefined || type === "none") {
    if (legacyLinearFactor !== undefined && legacyLinearFactor !== 1) return { type: "linear", factor: legacyLinearFactor };
    return { type: "none", factor: 1 };
  }
  if (type === "linear") {
    const resolved = factor ?? legacyLinearFactor ?? 1;
    if (!(resolved > 0)) {
      throw new GGUFFormatError(fileName, `metadata["${arch}.rope.scaling.factor"]`, `${resolved} is invalid; a RoPE scaling factor must be positive`, resolved);
    }
    return { type: "linear", factor: resolved };
  }
  throw new ModelUnsupportedError(
    `${fileName}: RoPE scaling type "${type}" is not supported; supported types are none and linear, so use a model without "${arch}.rope.scaling.type" = "${type}"`,
  );
}

function validateConfig(config: ModelConfig, fileName: string): void {
  const positiveIntegers: (keyof ModelConfig)[] = [
    "layerCount",
    "embeddingLength",
    "feedForwardLength",
    "headCount",
    "headCountKV",
    "headDim",
    "ropeDimensionCount",
    "contextLength",
    "vocabSize",
  ];
  for (const key of positiveIntegers) {
    const value = config[key] as number;
    if (!Number.isInteger(value) || value <= 0) {
      throw new GGUFFormatError(fileName, key, `${value} is invalid; expected a positive integer`, value);
    }
  }

  if (config.headCount % config.headCountKV !== 0) {
    throw new GGUFFormatError(
      fileName,
      "headCountKV",
      `${config.headCount} query heads cannot be split evenly among ${config.headCountKV} key/value heads`,
      config.headCountKV,
    );
  }
  if (config.ropeDimensionCount % 2 !== 0 || config.ropeDimensionCount > config.headDim) {
    throw new GGUFFormatError(
      fileName,
      "ropeDimensionCount",
      `${config.ropeDimensionCount} is invalid; expected an even count no larger than the head size ${config.headDim}`,
      config.ropeDimensionCount,
    );
  }
  if (!(config.rmsNormEpsilon > 0) || !(config.ropeFreqBase > 0)) {
    throw new GGUFFormatError(
      fileName,
      "rmsNormEpsilon/ropeFreqBase",
      `epsilon ${config.rmsNormEpsilon} and RoPE base ${config.ropeFreqBase} must both be positive`,
    );
  }
}
