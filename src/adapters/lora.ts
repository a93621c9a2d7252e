// In-memory LoRA adapter: per model matrix W [out, in] a low-rank pair A [rank, in] and
// B [out, rank], applied as y = W·x + scale · B·(A·x). Both readers (PEFT and GGUF) produce this form.

import { layerTensorNames } from "../model/tensor-names.js";

/** GGUF names of the block matrices an adapter may target, without the "blk.N." prefix and ".weight" suffix. */
export const LORA_TARGETS = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"] as const;
export type LoraTarget = (typeof LORA_TARGETS)[number];

export interface LoraMatrix {
  /** [rank, inFeatures] row-major: PEFT `lora_A.weight`, GGUF `.lora_a` with ggml dims [inFeatures, rank]. */
  a: Float32Array;
  /** [outFeatures, rank] row-major: PEFT `lora_B.weight`, GGUF `.lora_b` with ggml dims [rank, outFeatures]. */
  b: Float32Array;
  rank: number;
  inFeatures: number;
  outFeatures: number;
  /** Multiplier of B·A: alpha / rank (alpha / sqrt(rank) for rsLoRA) times the caller's scale. */
  scale: number;
}

export interface LoraAdapter {
  /** File, folder or URL the adapter came from, named in error messages. */
  name: string;
  /** `general.architecture` of a GGUF adapter; undefined for PEFT, whose config names no GGUF architecture. */
  architecture?: string;
  /** Keyed by the GGUF name of the base weight, e.g. "blk.0.attn_q.weight". */
  matrices: Map<string, LoraMatrix>;
}

/** Returns the GGUF weight name of `target` in block `layer`, e.g. "blk.3.ffn_up.weight". */
export function loraWeightName(layer: number, target: LoraTarget): string {
  const names = layerTensorNames(layer);
  const byTarget: Record<LoraTarget, string> = {
    attn_q: names.query,
    attn_k: names.key,
    attn_v: names.value,
    attn_output: names.attentionOutput,
    ffn_gate: names.gate,
    ffn_up: names.up,
    ffn_down: names.down,
  };
  return byTarget[target];
}

/** Parses "blk.N.<target>.weight" into its block and target, or returns undefined for other names. */
export function parseLoraWeightName(name: string): { layer: number; target: LoraTarget } | undefined {
  const match = /^blk\.(\d+)\.([a-z_]+)\.weight$/.exec(name);
  if (match === null) return undefined;
  const target = match[2] as LoraTarget;
  if (!(LORA_TARGETS as readonly string[]).includes(target)) return undefined;
  return { layer: Number(match[1]), target };
}

/**
 * Returns scale · B·(A·x) [rows, outFeatures] for input [rows, inFeatures], computing only rows
 * `fromRow ..`; earlier rows stay 0. Accumulates in float64.
 */
export function loraDelta(input: Float32Array, matrix: LoraMatrix, fromRow = 0): Float32Array {
  const { a, b, rank, inFeatures, outFeatures, scale } = matrix;
  const rows = input.length / inFeatures;
  const output = new Float32Array(rows * outFeatures);
  const projected = new Float64Array(rank);

  for (let r = fromRow; r < rows; r++) {
    // projected [rank] = A · x_r
    for (let k = 0; k < rank; k++) {
      let sum = 0;
      for (let i = 0; i < inFeatures; i++) sum += a[k * inFeatures + i]! * input[r * inFeatures + i]!;
      projected[k] = sum;
    }
    // output_r [outFeatures] = scale · B · projected
    for (let o = 0; o < outFeatures; o++) {
      let sum = 0;
      for (let k = 0; k < rank; k++) sum += b[o * rank + k]! * projected[k]!;
      output[r * outFeatures + o] = scale * sum;
    }
  }
  return output;
}
