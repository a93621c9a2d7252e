// Loads a model's weights into the GPU objects the WebGPU forward pass reads, one tensor at a time
// (see streamTensors). Block matrices become repacked MatmulWeights. The token embedding and the
// output matrix keep their GGUF bytes for the row-gathering kernels. Norms and biases become f32
// buffers.

import { GPUUnsupportedError, InvalidInputError, TensorNotFoundError } from "../errors.js";
import { dequantize } from "../gguf/quant.js";
import { GGMLType, ggmlTypeName, type GGUFTensorInfo } from "../gguf/types.js";
import type { GPUContext } from "../gpu/context.js";
import { MatmulWeights } from "../gpu/kernels/matmul.js";
import { GATHER_WEIGHT_TYPES, type GPUWeightMatrix } from "../gpu/kernels/weight-rows.js";
import { isMatmulWeightType, MATMUL_WEIGHT_TYPES } from "../gpu/repack.js";
import type { ModelConfig } from "../model/config.js";
import { layerTensorNames, OUTPUT, OUTPUT_NORM, ROPE_FREQUENCIES, TOKEN_EMBEDDING } from "../model/tensor-names.js";
import { checkTensorsForGPU, streamTensors, type TensorSource } from "./weights-upload.js";

/** One block's weights. E = embeddingLength, F = feedForwardLength, H/Hkv = heads, D = headDim. */
export interface GPULayerWeights {
  attentionNorm: GPUBuffer; // [E] f32
  query: MatmulWeights; // [H * D, E]
  key: MatmulWeights; // [Hkv * D, E]
  value: MatmulWeights; // [Hkv * D, E]
  attentionOutput: MatmulWeights; // [E, H * D]
  queryBias?: GPUBuffer; // [H * D] f32 (qwen2)
  keyBias?: GPUBuffer; // [Hkv * D] f32 (qwen2)
  valueBias?: GPUBuffer; // [Hkv * D] f32 (qwen2)
  attentionOutputBias?: GPUBuffer; // [E] f32
  queryNorm?: GPUBuffer; // [D] f32 (qwen3)
  keyNorm?: GPUBuffer; // [D] f32 (qwen3)
  feedForwardNorm: GPUBuffer; // [E] f32
  gate: MatmulWeights; // [F, E]
  up: MatmulWeights; // [F, E]
  down: MatmulWeights; // [E, F]
}

export interface GPUModelWeights {
  tokenEmbedding: GPUWeightMatrix; // [vocab, E] stored type
  /** output.weight, or the token embedding itself when the output is tied. */
  output: GPUWeightMatrix; // [vocab, E] stored type
  outputNorm: GPUBuffer; // [E] f32
  layers: GPULayerWeights[];
  /** rope_freqs.weight [ropeDimensionCount / 2], kept on the CPU for the RoPE table. */
  ropeFrequencyFactors: Float32Array | undefined;
}

/** The GPU storage of a tensor: matmul weights, a row-gathered matrix, an f32 vector, or CPU-side values. */
type TensorRole = "matmul" | "gather" | "vector" | "host";

type Loaded = MatmulWeights | GPUWeightMatrix | GPUBuffer | Float32Array;

interface LoadFile extends TensorSource {
  hasTensor(name: string): boolean;
  tensor(name: string): GGUFTensorInfo;
}

export interface LoadGPUWeightsOptions {
  onProgress?: (loaded: number, total: number) => void;
  signal?: AbortSignal;
}

/** Lists every tensor the forward pass reads, with its role; optional tensors only when present. */
function tensorRoles(file: LoadFile, config: ModelConfig): Map<string, TensorRole> {
  const roles = new Map<string, TensorRole>();
  const require = (name: string, role: TensorRole): void => {
    if (!file.hasTensor(name)) throw new TensorNotFoundError(file.name, name);
    roles.set(name, role);
  };
  const optional = (name: string, role: TensorRole): void => {
    if (file.hasTensor(name)) roles.set(name, role);
  };

  require(TOKEN_EMBEDDING, "gather");
  require(OUTPUT_NORM, "vector");
  if (!config.tiedOutput) require(OUTPUT, "gather");
  if (config.ropeFrequencyFactors) require(ROPE_FREQUENCIES, "host");

  for (let layer = 0; layer < config.layerCount; layer++) {
    const names = layerTensorNames(layer);
    for (const name of [names.query, names.key, names.value, names.attentionOutput, names.gate, names.up, names.down]) require(name, "matmul");
    require(names.attentionNorm, "vector");
    require(names.feedForwardNorm, "vector");
    for (const name of [names.queryBias, names.keyBias, names.valueBias, names.attentionOutputBias]) optional(name, "vector");
    if (config.queryKeyNorm) {
      require(names.queryNorm, "vector");
      require(names.keyNorm, "vector");
    }
  }
  return roles;
}

/** Rejects, before any upload, tensor types the kernels of each role cannot read and buffers over the device limits. */
function checkRoles(file: LoadFile, roles: Map<string, TensorRole>, context: GPUContext): void {
  for (const [name, role] of roles) {
    const tensor = file.tensor(name);
    let supported: readonly GGMLType[] | undefined;
    if (role === "matmul") supported = MATMUL_WEIGHT_TYPES;
    if (role === "gather") supported = GATHER_WEIGHT_TYPES;
    if (supported && !supported.includes(tensor.type)) {
      throw new GPUUnsupportedError(
        `${file.name}: tensor "${name}" has type ${ggmlTypeName(tensor.type)}, which the WebGPU ${role} kernel does not read; ` +
          `supported: ${supported.map(ggmlTypeName).join(", ")}. Requantize the model or use the CPU reference.`,
      );
    }
  }

  // Matmul weights are split into several buffers by MatmulWeights, and gathered matrices are bound
  // in row chunks, so only their whole-buffer size (gather) or nothing (matmul) is limited here.
  const gathered = [...roles].filter(([, role]) => role === "gather").map(([name]) => file.tensor(name));
  checkTensorsForGPU(file.name, gathered, { maxBindingSize: context.limits.maxStorageBufferBindingSize, maxBufferSize: context.limits.maxBufferSize }, () => true);
}

/** Returns a tensor's values as f32, dequantizing stored types other than F32. */
function toFloat32(tensor: GGUFTensorInfo, bytes: Uint8Array): Float32Array {
  if (tensor.type === GGMLType.F32) {
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  }
  return dequantize(tensor.type, bytes, tensor.elementCount);
}

/** Frees one loaded object. */
function release(context: GPUContext, loaded: Loaded): void {
  if (loaded instanceof MatmulWeights) loaded.dispose();
  else if (loaded instanceof Float32Array) return;
  else if ("buffer" in loaded && "rows" in loaded) context.destroyBuffer(loaded.buffer);
  else context.destroyBuffer(loaded as GPUBuffer);
}

/** Uploads every tensor the forward pass reads; on failure or abort, frees what was uploaded. */
export async function loadGPUWeights(file: LoadFile, config: ModelConfig, context: GPUContext, options: LoadGPUWeightsOptions = {}): Promise<GPUModelWeights> {
  const roles = tensorRoles(file, config);
  checkRoles(file, roles, context);
  const tensors = file.tensors.filter((tensor) => roles.has(tensor.name));

  const consume = (tensor: GGUFTensorInfo, bytes: Uint8Array): Loaded => {
    const role = roles.get(tensor.name)!;
    const [cols = 1, rows = 1] = tensor.dims; // ggml order: dims[0] is the row length

    if (role === "matmul") {
      if (!isMatmulWeightType(tensor.type) || tensor.dims.length !== 2) {
        throw new InvalidInputError(`${file.name}: tensor "${tensor.name}" must be a 2-D matrix, got dims [${tensor.dims.join(", ")}]`);
      }
      return MatmulWeights.create(context, { type: tensor.type, bytes, n: rows, k: cols, label: tensor.name });
    }
    if (role === "gather") {
      const buffer = context.createStorageBuffer(tensor.name, bytes);
      return { buffer, type: tensor.type, rows, cols, name: tensor.name } satisfies GPUWeightMatrix;
    }
    const values = toFloat32(tensor, bytes);
    if (role === "host") return values;
    return context.createStorageBuffer(tensor.name, values);
  };

  const loaded = await streamTensors(file, tensors, consume, {
    onProgress: options.onProgress,
    signal: options.signal,
    release: (item) => release(context, item),
  });

  const get = <T extends Loaded>(name: string): T => loaded.get(name) as T;
  const maybe = <T extends Loaded>(name: string): T | undefined => loaded.get(name) as T | undefined;

  const tokenEmbedding = get<GPUWeightMatrix>(TOKEN_EMBEDDING);
  return {
    tokenEmbedding,
    output: config.tiedOutput ? tokenEmbedding : get<GPUWeightMatrix>(OUTPUT),
    outputNorm: get<GPUBuffer>(OUTPUT_NORM),
    ropeFrequencyFactors: maybe<Float32Array>(ROPE_FREQUENCIES),
    layers: Array.from({ length: config.layerCount }, (_, layer) => {
      const names = layerTensorNames(layer);
      return {
        attentionNorm: get<GPUBuffer>(names.attentionNorm),
        query: get<MatmulWeights>(names.query),
        key: get<MatmulWeights>(names.key),
        value: get<MatmulWeights>(names.value),
        attentionOutput: get<MatmulWeights>(names.attentionOutput),
        queryBias: maybe<GPUBuffer>(names.queryBias),
        keyBias: maybe<GPUBuffer>(names.keyBias),
        valueBias: maybe<GPUBuffer>(names.valueBias),
        attentionOutputBias: maybe<GPUBuffer>(names.attentionOutputBias),
        queryNorm: maybe<GPUBuffer>(names.queryNorm),
        keyNorm: maybe<GPUBuffer>(names.keyNorm),
        feedForwardNorm: get<GPUBuffer>(names.feedForwardNorm),
        gate: get<MatmulWeights>(names.gate),
        up: get<MatmulWeights>(names.up),
        down: get<MatmulWeights>(names.down),
      };
    }),
  };
}

/** Frees every GPU object of `weights` (the tied output matrix once). */
export function disposeGPUWeights(context: GPUContext, weights: GPUModelWeights): void {
  release(context, weights.tokenEmbedding);
  if (weights.output !== weights.tokenEmbedding) release(context, weights.output);
  context.destroyBuffer(weights.outputNorm);

  for (const layer of weights.layers) {
    for (const matrix of [layer.query, layer.key, layer.value, layer.attentionOutput, layer.gate, layer.up, layer.down]) matrix.dispose();
    const vectors = [layer.attentionNorm, layer.feedForwardNorm, layer.queryBias, layer.keyBias, layer.valueBias, layer.attentionOutputBias, layer.queryNorm, layer.keyNorm];
    for (const buffer of vectors) if (buffer) context.destroyBuffer(buffer);
  }
}
