// Merging a LoRA adapter into the base weights: W' = W + scale · B·A. A classic adapter on the
// merged weights gives the same outputs as the unmerged forward pass, up to float32 rounding.

import type { ModelConfig } from "../model/config.js";
import type { LayerWeights, ReferenceWeights } from "../reference/weights.js";
import { LORA_TARGETS, loraWeightName, type LoraAdapter, type LoraMatrix, type LoraTarget } from "./lora.js";

const LAYER_FIELDS: Record<LoraTarget, keyof LayerWeights> = {
  attn_q: "query",
  attn_k: "key",
  attn_v: "value",
  attn_output: "attentionOutput",
  ffn_gate: "gate",
  ffn_up: "up",
  ffn_down: "down",
};

/** Returns new weights with every adapted matrix merged; matrices the adapter leaves alone are shared, not copied. */
export function mergeLoraWeights(config: ModelConfig, weights: ReferenceWeights, adapter: LoraAdapter): ReferenceWeights {
  const layers = weights.layers.map((layer, index) => {
    const merged: LayerWeights = { ...layer };
    for (const target of LORA_TARGETS) {
      const matrix = adapter.matrices.get(loraWeightName(index, target));
      if (matrix === undefined) continue;
      const field = LAYER_FIELDS[target];
      merged[field] = mergeMatrix(layer[field] as Float32Array, matrix) as never;
    }
    return merged;
  });
  if (layers.length !== config.layerCount) throw new RangeError(`mergeLoraWeights: ${layers.length} layers but the config has ${config.layerCount}`);
  return { ...weights, layers };
}

/** Returns W [out, in] + scale · B [out, rank] · A [rank, in], summed in float64 per element. */
function mergeMatrix(weight: Float32Array, matrix: LoraMatrix): Float32Array {
  const { a, b, rank, inFeatures, outFeatures, scale } = matrix;
  const merged = new Float32Array(weight.length);
  for (let o = 0; o < outFeatures; o++) {
    for (let i = 0; i < inFeatures; i++) {
      let sum = 0;
      for (let k = 0; k < rank; k++) sum += b[o * rank + k]! * a[k * inFeatures + i]!;
      merged[o * inFeatures + i] = weight[o * inFeatures + i]! + scale * sum;
    }
  }
  return merged;
}
