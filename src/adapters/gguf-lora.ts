// llama.cpp LoRA adapters in GGUF: `general.type` = "adapter", `adapter.type` = "lora",
// `adapter.lora.alpha` (float32), and per adapted weight W a pair "W.lora_a" with ggml dims
// [in, rank] and "W.lora_b" with dims [rank, out]. llama.cpp's loader (src/llama-adapter.cpp)
// checks W.ne[0] == a.ne[0], W.ne[1] == b.ne[1] and a.ne[1] == b.ne[0], and its get_scale
// (src/llama-adapter.h) scales B·A by user_scale · alpha / rank, or by user_scale alone when alpha is 0.

import { AdapterFormatError, InvalidInputError } from "../errors.js";
import type { GGUFFile } from "../gguf/reader.js";
import type { LoraAdapter, LoraMatrix } from "./lora.js";

export const ADAPTER_TYPE_KEY = "adapter.type";
export const ADAPTER_ALPHA_KEY = "adapter.lora.alpha";

/**
 * Reads every LoRA pair of a GGUF adapter (any tensor type the reader dequantizes). `scale` is
 * the user scale, 1 by default. Throws `AdapterFormatError` for a file that is not a LoRA adapter,
 * an unexpected tensor, a missing half of a pair or pair shapes that disagree.
 */
export async function readGGUFLoraAdapter(file: GGUFFile, options: { scale?: number; signal?: AbortSignal } = {}): Promise<LoraAdapter> {
  const name = file.name;
  const generalType = file.getOptionalString("general.type");
  if (generalType !== "adapter") throw new AdapterFormatError(name, "general.type", `${JSON.stringify(generalType)} is not "adapter"; pass a LoRA adapter file, not a model`);
  const adapterType = file.getOptionalString(ADAPTER_TYPE_KEY);
  if (adapterType !== "lora") throw new AdapterFormatError(name, ADAPTER_TYPE_KEY, `${JSON.stringify(adapterType)} is not "lora"; only LoRA adapters are supported`);
  const alpha = file.getOptionalNumber(ADAPTER_ALPHA_KEY) ?? 0;
  if (!Number.isFinite(alpha)) throw new AdapterFormatError(name, ADAPTER_ALPHA_KEY, `${alpha} is invalid; expected a finite number (0 means no alpha scaling)`);
  const userScale = options.scale ?? 1;
  if (!Number.isFinite(userScale)) throw new InvalidInputError(`${name}: LoRA scale ${userScale} is invalid; pass a finite number`);

  const pairs = new Map<string, { a?: string; b?: string }>();
  for (const tensor of file.tensors) {
    const match = /^(.+)\.lora_([ab])$/.exec(tensor.name);
    if (match === null) {
      // NOTE: llama.cpp skips "*_norm.weight" tensors in adapters; they are skipped here too.
      if (tensor.name.endsWith("_norm.weight")) continue;
      throw new AdapterFormatError(name, `tensor "${tensor.name}"`, 'has no ".lora_a" or ".lora_b" suffix; the file is not a LoRA adapter');
    }
    const pair = pairs.get(match[1]!) ?? {};
    pair[match[2] as "a" | "b"] = tensor.name;
    pairs.set(match[1]!, pair);
  }

  const matrices = new Map<string, LoraMatrix>();
  for (const [weightName, { a, b }] of pairs) {
    if (a === undefined || b === undefined) throw new AdapterFormatError(name, weightName, `has ${a === undefined ? "lora_a" : "lora_b"} missing; the adapter file is incomplete`);
    const aDims = file.tensor(a).dims;
    const bDims = file.tensor(b).dims;
    if (aDims.length !== 2 || bDims.length !== 2 || aDims[1] !== bDims[0]) {
      throw new AdapterFormatError(name, weightName, `lora_a dims [${aDims.join(", ")}] and lora_b dims [${bDims.join(", ")}] do not form [in, rank] and [rank, out]`);
    }
    const [inFeatures, rank] = aDims as [number, number];
    const outFeatures = bDims[1]!;

    matrices.set(weightName, {
      a: await file.readTensorF32(a, options.signal), // ggml [in, rank] = row-major [rank, in]
      b: await file.readTensorF32(b, options.signal), // ggml [rank, out] = row-major [out, rank]
      rank,
      inFeatures,
      outFeatures,
      scale: alpha === 0 ? userScale : (userScale * alpha) / rank,
    });
  }
  if (matrices.size === 0) throw new AdapterFormatError(name, "(tensors)", "no LoRA tensors found; the adapter file is empty");
  return { name, architecture: file.getOptionalString("general.architecture"), matrices };
}
