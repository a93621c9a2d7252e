// GGUF tensor names for the llama-family decoders (llama, qwen2, qwen3), as llama.cpp's converter
// writes them.

export const TOKEN_EMBEDDING = "token_embd.weight";
export const OUTPUT_NORM = "output_norm.weight";
export const OUTPUT = "output.weight";
/** Per-dimension-pair RoPE frequency divisors written for Llama 3.1-style scaling. */
export const ROPE_FREQUENCIES = "rope_freqs.weight";

/** Names of one transformer block's tensors. Biases and q/k norms exist only in some architectures. */
export interface LayerTensorNames {
  attentionNorm: string;
  query: string;
  key: string;
  value: string;
  attentionOutput: string;
  queryBias: string;
  keyBias: string;
  valueBias: string;
  attentionOutputBias: string;
  queryNorm: string;
  keyNorm: string;
  feedForwardNorm: string;
  gate: string;
  up: string;
  down: string;
}

/** Returns the tensor names of block `layer` ("blk.N.*"). */
export function layerTensorNames(layer: number): LayerTensorNames {
  const prefix = `blk.${layer}.`;
  return {
    attentionNorm: `${prefix}attn_norm.weight`,
    query: `${prefix}attn_q.weight`,
    key: `${prefix}attn_k.weight`,
    value: `${prefix}attn_v.weight`,
    attentionOutput: `${prefix}attn_output.weight`,
    queryBias: `${prefix}attn_q.bias`,
    keyBias: `${prefix}attn_k.bias`,
    valueBias: `${prefix}attn_v.bias`,
    attentionOutputBias: `${prefix}attn_output.bias`,
    queryNorm: `${prefix}attn_q_norm.weight`,
    keyNorm: `${prefix}attn_k_norm.weight`,
    feedForwardNorm: `${prefix}ffn_norm.weight`,
    gate: `${prefix}ffn_gate.weight`,
    up: `${prefix}ffn_up.weight`,
    down: `${prefix}ffn_down.weight`,
  };
}
