// Random LoRA adapters from a seed, for tests: the same weights as an in-memory adapter, as PEFT
// files (adapter_config.json + adapter_model.safetensors) and as a llama.cpp GGUF adapter.
//
// A is drawn with standard deviation 1 / sqrt(in) and B with gain / sqrt(rank), so with the default
// alpha = rank (scale 1) and gain 0.5 the LoRA term is about half the size of the base projection
// and moves class probabilities by a visible amount.

import { Random } from "../fixtures/random.js";
import { meta } from "../gguf/metadata.js";
import { quantize } from "../gguf/quant.js";
import { GGMLType } from "../gguf/types.js";
import type { GGUFWriteInput } from "../gguf/writer.js";
import type { ModelConfig } from "../model/config.js";
import { ADAPTER_ALPHA_KEY, ADAPTER_TYPE_KEY } from "./gguf-lora.js";
import { LORA_TARGETS, loraWeightName, type LoraAdapter, type LoraMatrix, type LoraTarget } from "./lora.js";
import { HF_MODULE_TARGETS } from "./peft.js";
import { writeSafetensors, type SafetensorsDType } from "./safetensors.js";
import { targetShape } from "./validate.js";

export interface RandomLoraSpec {
  seed: number | string;
  rank: number;
  /** lora_alpha; defaults to `rank`, so the scale is 1 (or sqrt(rank) with rsLoRA). */
  alpha?: number;
  useRslora?: boolean;
  /** Adapted projections; all seven when omitted. */
  targets?: LoraTarget[];
  /** Adapted blocks; every block when omitted. */
  layers?: number[];
  /** Size of B relative to 1 / sqrt(rank); 0.5 when omitted. */
  gain?: number;
}

export interface RandomLoraPair {
  layer: number;
  target: LoraTarget;
  /** [rank, in] */
  a: Float32Array;
  /** [out, rank] */
  b: Float32Array;
}

export interface RandomLora {
  rank: number;
  alpha: number;
  useRslora: boolean;
  pairs: RandomLoraPair[];
}

/** Draws the A and B matrices of every requested block and projection. */
export function randomLora(config: ModelConfig, spec: RandomLoraSpec): RandomLora {
  const targets = spec.targets ?? [...LORA_TARGETS];
  const layers = spec.layers ?? Array.from({ length: config.layerCount }, (_, i) => i);
  const gain = spec.gain ?? 0.5;
  const pairs: RandomLoraPair[] = [];

  for (const layer of layers) {
    for (const target of targets) {
      const [outFeatures, inFeatures] = targetShape(config, target);
      const random = new Random(`${spec.seed}/${layer}/${target}`);
      const a = random.normalArray(spec.rank * inFeatures, 1 / Math.sqrt(inFeatures)); // [rank, in]
      const b = random.normalArray(outFeatures * spec.rank, gain / Math.sqrt(spec.rank)); // [out, rank]
      pairs.push({ layer, target, a, b });
    }
  }
  return { rank: spec.rank, alpha: spec.alpha ?? spec.rank, useRslora: spec.useRslora ?? false, pairs };
}

/** Returns the in-memory adapter with the PEFT scale (alpha / rank, or alpha / sqrt(rank) with rsLoRA). */
export function randomLoraAdapter(lora: RandomLora, name: string, architecture?: string): LoraAdapter {
  const scale = lora.useRslora ? lora.alpha / Math.sqrt(lora.rank) : lora.alpha / lora.rank;
  const matrices = new Map<string, LoraMatrix>();
  for (const { layer, target, a, b } of lora.pairs) {
    matrices.set(loraWeightName(layer, target), { a, b, rank: lora.rank, inFeatures: a.length / lora.rank, outFeatures: b.length / lora.rank, scale });
  }
  return { name, architecture, matrices };
}

const HF_MODULES = Object.fromEntries(Object.entries(HF_MODULE_TARGETS).map(([module, target]) => [target, module])) as Record<LoraTarget, string>;

/** Encodes the adapter as PEFT would save it for a llama-family model. */
export function peftAdapterFiles(lora: RandomLora, options: { dtype?: SafetensorsDType } = {}): { config: string; safetensors: Uint8Array } {
  const dtype = options.dtype ?? "F32";
  const tensors = lora.pairs.flatMap(({ layer, target, a, b }) => {
    const group = target.startsWith("attn") ? "self_attn" : "mlp";
    const prefix = `base_model.model.model.layers.${layer}.${group}.${HF_MODULES[target]}`;
    return [
      { name: `${prefix}.lora_A.weight`, dtype, shape: [lora.rank, a.length / lora.rank], data: a },
      { name: `${prefix}.lora_B.weight`, dtype, shape: [b.length / lora.rank, lora.rank], data: b },
    ];
  });

  const modules = [...new Set(lora.pairs.map((pair) => HF_MODULES[pair.target]))];
  const config = {
    peft_type: "LORA",
    task_type: "CAUSAL_LM",
    r: lora.rank,
    lora_alpha: lora.alpha,
    use_rslora: lora.useRslora,
    target_modules: modules,
    lora_dropout: 0,
    bias: "none",
    fan_in_fan_out: false,
  };
  return { config: `${JSON.stringify(config, null, 2)}\n`, safetensors: writeSafetensors(tensors, { format: "pt" }) };
}

/**
 * Returns the adapter as llama.cpp's GGUF LoRA layout. rsLoRA has no GGUF key, so its scale
 * alpha / sqrt(rank) is written as the alpha alpha · sqrt(rank), which llama.cpp divides by rank.
 */
export function ggufLoraAdapterInput(lora: RandomLora, architecture: string, options: { type?: GGMLType.F32 | GGMLType.F16 } = {}): GGUFWriteInput {
  const type = options.type ?? GGMLType.F32;
  const alpha = lora.useRslora ? lora.alpha * Math.sqrt(lora.rank) : lora.alpha;
  const tensors = lora.pairs.flatMap(({ layer, target, a, b }) => {
    const weight = loraWeightName(layer, target);
    const inFeatures = a.length / lora.rank;
    const outFeatures = b.length / lora.rank;
    return [
      { name: `${weight}.lora_a`, dims: [inFeatures, lora.rank], type, data: quantize(type, a) }, // row-major [rank, in]
      { name: `${weight}.lora_b`, dims: [lora.rank, outFeatures], type, data: quantize(type, b) }, // row-major [out, rank]
    ];
  });
  return {
    metadata: new Map([
      ["general.architecture", meta.str(architecture)],
      ["general.type", meta.str("adapter")],
      ["general.name", meta.str("tokenjudge random LoRA fixture")],
      [ADAPTER_TYPE_KEY, meta.str("lora")],
      [ADAPTER_ALPHA_KEY, meta.f32(alpha)],
    ]),
    tensors,
  };
}
