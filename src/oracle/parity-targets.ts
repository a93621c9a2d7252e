// The models that the parity run compares with llama.cpp: every generated fixture plus the shared
// tiny random Llama 2 model, each resolved to a path or to the reason it is unavailable here.

import { existsSync } from "node:fs";
import { join } from "node:path";

import { DEFAULT_SHARED_DIR, FIXTURES, ensureFixture, fixtureUnavailableReason } from "../fixtures/registry.js";

export const SHARED_TINY_MODEL = "llama-2-tiny-random";
const SHARED_TINY_MODEL_PATH = join(DEFAULT_SHARED_DIR, "models/llama-2-tiny-random/llama-2-tiny-random.gguf");

/** The tokenizer parity vocabularies: Llama 2 SentencePiece, Llama 3 BPE and Qwen3 BPE. */
export const TOKENIZER_PARITY_MODELS = [SHARED_TINY_MODEL, "llama-f32", "qwen3-f32"] as const;

export type ParityTarget = { name: string; unavailable?: undefined; path: () => Promise<string> } | { name: string; unavailable: string };

/** Returns every logits parity target: all fixtures, then the shared tiny model. */
export function logitsParityTargets(): ParityTarget[] {
  const names = Object.keys(FIXTURES);
  return [...names, SHARED_TINY_MODEL].map(parityTarget);
}

/** Resolves one model name (a fixture or the shared tiny model) to a target. */
export function parityTarget(name: string): ParityTarget {
  if (name === SHARED_TINY_MODEL) {
    if (!existsSync(SHARED_TINY_MODEL_PATH)) return { name, unavailable: `${SHARED_TINY_MODEL_PATH} is missing` };
    return { name, path: async () => SHARED_TINY_MODEL_PATH };
  }
  const unavailable = fixtureUnavailableReason(name);
  if (unavailable) return { name, unavailable };
  return { name, path: () => ensureFixture(name) };
}
