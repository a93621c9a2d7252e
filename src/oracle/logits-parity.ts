// Compares the reference forward pass with llama.cpp on the same GGUF file: the last-token
// log-probabilities over llama.cpp's top-20 tokens, and the top-1 token.

import { GGUFFile } from "../gguf/reader.js";
import { GGMLType, ggmlTypeName } from "../gguf/types.js";
import { openFileSource } from "../io/node-file.js";
import { ReferenceModel, logSoftmax } from "../reference/index.js";
import { Tokenizer } from "../tokenizer/index.js";
import { LlamaCppOracle } from "./llama-cpp.js";

/** Max absolute log-probability difference allowed for weights stored exactly enough to compare in f32. */
export const EXACT_WEIGHTS_TOLERANCE = 1e-3;
/** The same for quantized weights, where llama.cpp also quantizes activations (to Q8_0 or Q8_K) before the dot products. */
export const QUANTIZED_WEIGHTS_TOLERANCE = 2e-2;

/** How many of llama.cpp's most likely tokens the comparison covers. */
export const PARITY_TOP_K = 20;

/** Prompts run through both implementations: English, Korean, emoji, code and mixed scripts. */
export const PARITY_PROMPTS: readonly string[] = [
  "Once upon a time, there was a little girl named Lily.",
  "Is the following message toxic? Answer Yes or No.",
  "안녕하세요, 오늘 날씨가 정말 좋네요 😀",
  "def add(a, b):\n    return a + b  # 🐍 日本語",
];

export interface LogitsParityResult {
  fixture: string;
  weightType: string;
  tolerance: number;
  prompts: number;
  maxAbsDiff: number;
  top1Match: boolean;
  passed: boolean;
}

/** Returns the dominant 2-D weight type of a file, the one that sets its tolerance. */
export function dominantWeightType(file: GGUFFile): GGMLType {
  const bytesByType = new Map<GGMLType, number>();
  for (const tensor of file.tensors) {
    if (tensor.dims.length < 2) continue;
    bytesByType.set(tensor.type, (bytesByType.get(tensor.type) ?? 0) + tensor.byteLength);
  }
  let best = GGMLType.F32;
  let bestBytes = -1;
  for (const [type, bytes] of bytesByType) {
    if (bytes > bestBytes) {
      best = type;
      bestBytes = bytes;
    }
  }
  return best;
}

/** Returns the tolerance for a weight type: F32 and F16 are compared tightly, the rest loosely. */
export function toleranceFor(type: GGMLType): number {
  return type === GGMLType.F32 || type === GGMLType.F16 ? EXACT_WEIGHTS_TOLERANCE : QUANTIZED_WEIGHTS_TOLERANCE;
}

/**
 * Runs every prompt through the reference pass and llama.cpp and returns the worst difference.
 * Prompts are tokenized once, by our tokenizer, and the same ids go to both implementations, so
 * this measures the forward pass alone.
 */
export async function compareLogitsWithLlamaCpp(
  fixture: string,
  path: string,
  prompts: readonly string[] = PARITY_PROMPTS,
): Promise<LogitsParityResult> {
  const source = await openFileSource(path);
  const oracle = await LlamaCppOracle.load(path);
  try {
    const file = await GGUFFile.open(source);
    const tokenizer = Tokenizer.fromGGUF(file);
    const reference = await ReferenceModel.load(file, { activationRounding: "llama.cpp" });
    const weightType = dominantWeightType(file);
    const tolerance = toleranceFor(weightType);

    let maxAbsDiff = 0;
    let top1Match = true;
    for (const prompt of prompts) {
      const tokens = tokenizer.encode([{ text: prompt, special: false }], { addSpecial: true });
      const ours = logSoftmax(reference.forward(tokens).logits);
      const theirs = await oracle.lastTokenLogProbs(tokens, PARITY_TOP_K);

      for (const { token, logProb } of theirs) {
        maxAbsDiff = Math.max(maxAbsDiff, Math.abs(ours[token]! - logProb));
      }
      if (argmax(ours) !== theirs[0]!.token) top1Match = false;
    }

    return {
      fixture,
      weightType: ggmlTypeName(weightType),
      tolerance,
      prompts: prompts.length,
      maxAbsDiff,
      top1Match,
      passed: top1Match && maxAbsDiff <= tolerance,
    };
  } finally {
    await oracle.dispose();
    await source.close?.();
  }
}

function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
