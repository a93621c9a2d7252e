// PEFT LoRA adapters (Hugging Face `peft`): adapter_config.json plus adapter_model.safetensors.
// Tensor keys look like "base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight";
// lora_A is [r, in_features] and lora_B is [out_features, r] (PyTorch order). PEFT scales B·A by
// lora_alpha / r, or by lora_alpha / sqrt(r) when use_rslora is set.

import { AdapterFormatError, InvalidInputError } from "../errors.js";
import { loraWeightName, type LoraAdapter, type LoraMatrix, type LoraTarget } from "./lora.js";
import { parseSafetensors } from "./safetensors.js";

/** Hugging Face module names of the llama-family projections and their GGUF targets. */
export const HF_MODULE_TARGETS: Readonly<Record<string, LoraTarget>> = {
  q_proj: "attn_q",
  k_proj: "attn_k",
  v_proj: "attn_v",
  o_proj: "attn_output",
  gate_proj: "ffn_gate",
  up_proj: "ffn_up",
  down_proj: "ffn_down",
};

export interface PeftConfig {
  r: number;
  loraAlpha: number;
  useRslora: boolean;
  /** Module names from target_modules, or the string form (a regex or "all-linear") as given. */
  targetModules: string[] | string;
}

// Groups: layer, module, A or B, and the adapter name PEFT puts before ".weight" when a model
// contains several adapters ("default" unless named otherwise).
const KEY_PATTERN = /(?:^|\.)layers\.(\d+)\.(?:self_attn|mlp)\.([a-z_]+)\.lora_([AB])(?:\.([A-Za-z0-9_-]+))?\.weight$/;

/** Writes a config value for an error message; unlike JSON.stringify it shows NaN and Infinity as such. */
function describeConfigValue(value: unknown): string {
  if (value === undefined) return "missing";
  if (typeof value === "number") return String(value);
  return JSON.stringify(value) ?? String(value);
}

/**
 * Returns the key and value of the first NaN or Infinity literal in `text`. Python's json module
 * writes these for non-finite floats, and JSON.parse rejects them.
 */
function findNonFiniteLiteral(text: string): { field: string; literal: string } | undefined {
  const match = /"([^"\\]+)"\s*:\s*(-?(?:NaN|Infinity))\b/.exec(text);
  return match === null ? undefined : { field: match[1]!, literal: match[2]! };
}

/** Parses adapter_config.json (text or an already parsed object). Throws `AdapterFormatError` on unsupported options. */
export function parsePeftConfig(json: string | unknown, fileName: string): PeftConfig {
  let config: unknown = json;
  if (typeof json === "string") {
    try {
      config = JSON.parse(json);
    } catch (cause) {
      const nonFinite = findNonFiniteLiteral(json);
      if (nonFinite !== undefined) {
        throw new AdapterFormatError(fileName, nonFinite.field, `is ${nonFinite.literal}, which is not a finite number (nor valid JSON); set it to a finite number`);
      }
      throw new AdapterFormatError(fileName, "(root)", `invalid JSON (${(cause as Error).message}); pass the adapter_config.json that PEFT saved`);
    }
  }
  if (typeof config !== "object" || config === null || Array.isArray(config)) throw new AdapterFormatError(fileName, "(root)", "expected a JSON object");
  const c = config as Record<string, unknown>;
  const fail = (field: string, message: string): never => {
    throw new AdapterFormatError(fileName, field, message);
  };

  if (c.peft_type !== undefined && c.peft_type !== "LORA") fail("peft_type", `${JSON.stringify(c.peft_type)} is not supported; only LORA adapters are`);
  if (!Number.isSafeInteger(c.r) || (c.r as number) < 1) fail("r", `${describeConfigValue(c.r)} is invalid; expected a positive integer rank`);
  const loraAlpha = c.lora_alpha ?? c.r;
  if (typeof loraAlpha !== "number" || !Number.isFinite(loraAlpha)) fail("lora_alpha", `${describeConfigValue(c.lora_alpha)} is invalid; expected a finite number`);
  if (c.use_dora === true) fail("use_dora", "DoRA adapters are not supported; train a plain LoRA adapter");
  if (c.fan_in_fan_out === true) fail("fan_in_fan_out", "transposed (Conv1D) weights are not supported; llama-family models use nn.Linear");
  if (c.bias !== undefined && c.bias !== "none") fail("bias", `${JSON.stringify(c.bias)} is not supported; train with bias="none"`);
  for (const pattern of ["rank_pattern", "alpha_pattern"]) {
    const value = c[pattern];
    if (value !== undefined && value !== null && (typeof value !== "object" || Object.keys(value).length > 0)) {
      fail(pattern, "per-module ranks or alphas are not supported; train with one r and lora_alpha for every module");
    }
  }

  const targets = c.target_modules;
  if (Array.isArray(targets)) {
    for (const module of targets) {
      if (typeof module !== "string" || !Object.hasOwn(HF_MODULE_TARGETS, module)) {
        fail("target_modules", `${JSON.stringify(module)} is not supported; supported modules are ${Object.keys(HF_MODULE_TARGETS).join(", ")}`);
      }
    }
  } else if (typeof targets !== "string") {
    fail("target_modules", `${JSON.stringify(targets)} is invalid; expected a list of module names`);
  }

  return { r: c.r as number, loraAlpha: loraAlpha as number, useRslora: c.use_rslora === true, targetModules: targets as string[] | string };
}

/** Returns the scale PEFT applies to B·A: alpha / r, or alpha / sqrt(r) with rsLoRA. */
export function peftScale(config: PeftConfig): number {
  return config.useRslora ? config.loraAlpha / Math.sqrt(config.r) : config.loraAlpha / config.r;
}

/**
 * Reads a PEFT adapter into GGUF-named LoRA matrices. `scale` multiplies the PEFT scale (1 by
 * default). Throws `AdapterFormatError` for an unexpected key, keys of more than one adapter name,
 * a missing or repeated half of a pair, or a rank that differs from `r`, and `InvalidInputError`
 * for a `scale` that is not finite. Shapes against the model are checked later by `validateAdapterForModel`.
 */
export function readPeftAdapter(configJson: string | unknown, safetensors: Uint8Array, name: string, options: { scale?: number } = {}): LoraAdapter {
  if (options.scale !== undefined && !Number.isFinite(options.scale)) {
    throw new InvalidInputError(`adapter "${name}": scale is ${options.scale}; pass a finite number, or leave it out for 1`);
  }
  const config = parsePeftConfig(configJson, `${name}/adapter_config.json`);
  const tensorFile = `${name}/adapter_model.safetensors`;
  const tensors = parseSafetensors(safetensors, tensorFile);
  const scale = peftScale(config) * (options.scale ?? 1);

  const pairs = new Map<string, { a?: { shape: number[]; data: Float32Array }; b?: { shape: number[]; data: Float32Array } }>();
  // The first key read, with its adapter name (undefined when the key has none). Keys of several
  // adapters would otherwise overwrite each other's matrices.
  let firstKey: { key: string; adapterName: string | undefined } | undefined;
  for (const [key, tensor] of tensors) {
    const match = KEY_PATTERN.exec(key);
    const target = match === null || !Object.hasOwn(HF_MODULE_TARGETS, match[2]!) ? undefined : HF_MODULE_TARGETS[match[2]!];
    if (match === null || target === undefined) {
      throw new AdapterFormatError(tensorFile, `"${key}"`, "is not a LoRA A/B weight of a llama-family projection (q/k/v/o_proj, gate/up/down_proj); remove modules_to_save and embedding adapters");
    }
    if (tensor.shape.length !== 2) throw new AdapterFormatError(tensorFile, `"${key}".shape`, `[${tensor.shape.join(", ")}] is not 2-D`);

    const adapterName = match[4];
    firstKey ??= { key, adapterName };
    if (adapterName !== firstKey.adapterName) {
      const show = (name: string | undefined): string => (name === undefined ? "no adapter name" : `adapter name "${name}"`);
      throw new AdapterFormatError(
        tensorFile,
        `"${key}"`,
        `has ${show(adapterName)}, but "${firstKey.key}" has ${show(firstKey.adapterName)}; the file contains more than one adapter, so save each adapter on its own`,
      );
    }

    const weightName = loraWeightName(Number(match[1]), target);
    const pair = pairs.get(weightName) ?? {};
    const half = match[3] === "A" ? "a" : "b";
    if (pair[half] !== undefined) throw new AdapterFormatError(tensorFile, `"${key}"`, `is a second lora_${match[3]} for ${weightName}; remove the duplicate tensor`);
    pair[half] = tensor;
    pairs.set(weightName, pair);
  }

  const matrices = new Map<string, LoraMatrix>();
  for (const [weightName, { a, b }] of pairs) {
    if (a === undefined || b === undefined) {
      throw new AdapterFormatError(tensorFile, weightName, `has lora_${a === undefined ? "A" : "B"} missing; the adapter file is incomplete`);
    }
    const [rank, inFeatures] = a.shape as [number, number];
    const [outFeatures, rankB] = b.shape as [number, number];
    if (rank !== config.r || rankB !== config.r) {
      throw new AdapterFormatError(tensorFile, weightName, `lora_A is [${a.shape.join(", ")}] and lora_B [${b.shape.join(", ")}], but adapter_config.json sets r = ${config.r}`);
    }
    matrices.set(weightName, { a: a.data, b: b.data, rank, inFeatures, outFeatures, scale });
  }
  if (matrices.size === 0) throw new AdapterFormatError(tensorFile, "(tensors)", "no LoRA weights found; the file is empty");
  return { name, matrices };
}
