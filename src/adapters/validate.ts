// Checks that a LoRA adapter fits a model: known target tensors, in-range blocks, A/B shapes that
// match the model's matrices, the same architecture, and finite weights.

import { AdapterMismatchError, AdapterWeightsError } from "../errors.js";
import type { ModelConfig } from "../model/config.js";
import { parseLoraWeightName, type LoraAdapter, type LoraTarget } from "./lora.js";

/** Returns [outFeatures, inFeatures] of the model matrix `target`. */
export function targetShape(config: ModelConfig, target: LoraTarget): [number, number] {
  const embd = config.embeddingLength;
  const queryWidth = config.headCount * config.headDim;
  const kvWidth = config.headCountKV * config.headDim;
  const shapes: Record<LoraTarget, [number, number]> = {
    attn_q: [queryWidth, embd],
    attn_k: [kvWidth, embd],
    attn_v: [kvWidth, embd],
    attn_output: [embd, queryWidth],
    ffn_gate: [config.feedForwardLength, embd],
    ffn_up: [config.feedForwardLength, embd],
    ffn_down: [embd, config.feedForwardLength],
  };
  return shapes[target];
}

/**
 * Throws `AdapterMismatchError` naming the tensor and both shapes when the adapter does not fit
 * `config`, and `AdapterWeightsError` for the first NaN or infinite weight.
 */
export function validateAdapterForModel(adapter: LoraAdapter, config: ModelConfig): void {
  if (adapter.architecture !== undefined && adapter.architecture !== config.architecture) {
    throw new AdapterMismatchError(adapter.name, "general.architecture", config.architecture, adapter.architecture, "the adapter was made for another architecture");
  }

  for (const [name, matrix] of adapter.matrices) {
    const parsed = parseLoraWeightName(name);
    if (parsed === undefined) {
      throw new AdapterMismatchError(adapter.name, name, "blk.N.{attn_q,attn_k,attn_v,attn_output,ffn_gate,ffn_up,ffn_down}.weight", name, "the tensor is not a block matrix LoRA can target");
    }
    if (parsed.layer >= config.layerCount) {
      throw new AdapterMismatchError(adapter.name, name, `blocks 0..${config.layerCount - 1}`, `block ${parsed.layer}`, "the block does not exist in the model");
    }

    const [outFeatures, inFeatures] = targetShape(config, parsed.target);
    const { rank } = matrix;
    if (matrix.inFeatures !== inFeatures || matrix.a.length !== rank * inFeatures) {
      throw new AdapterMismatchError(adapter.name, `${name}.lora_a`, `[${rank}, ${inFeatures}]`, `[${rank}, ${matrix.a.length / rank}]`, "lora_a has the wrong input size");
    }
    if (matrix.outFeatures !== outFeatures || matrix.b.length !== outFeatures * rank) {
      throw new AdapterMismatchError(adapter.name, `${name}.lora_b`, `[${outFeatures}, ${rank}]`, `[${matrix.b.length / rank}, ${rank}]`, "lora_b has the wrong output size");
    }
    checkFinite(adapter.name, `${name}.lora_a`, matrix.a);
    checkFinite(adapter.name, `${name}.lora_b`, matrix.b);
    if (!Number.isFinite(matrix.scale)) throw new AdapterWeightsError(adapter.name, `${name} scale`, 0, matrix.scale);
  }
}

/** Throws `AdapterWeightsError` at the first NaN or ±Infinity in `values`. */
export function checkFinite(adapter: string, tensor: string, values: Float32Array): void {
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i]!)) throw new AdapterWeightsError(adapter, tensor, i, values[i]!);
  }
}
