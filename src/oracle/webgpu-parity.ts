// Compares the WebGPU forward pass with the float32 CPU reference and with llama.cpp on one GGUF
// file: the last-token log-probabilities over llama.cpp's top-20 tokens for every parity prompt,
// and the top-1 token. The expected values are computed once per file, and each backend (Dawn in
// Node, or the worker runtime in Chromium) then supplies its own scores for the same token ids.

import { InvalidInputError } from "../errors.js";
import { GGUFFile } from "../gguf/reader.js";
import { GGMLType, ggmlTypeName } from "../gguf/types.js";
import type { GPUContext } from "../gpu/context.js";
import { WebGPUModel } from "../gpu/model.js";
import { openFileSource } from "../io/node-file.js";
import { ReferenceModel, logSoftmax } from "../reference/index.js";
import { Tokenizer } from "../tokenizer/index.js";
import { LlamaCppOracle } from "./llama-cpp.js";
import { PARITY_PROMPTS, PARITY_TOP_K, dominantWeightType } from "./logits-parity.js";

export type WebGPUParityBackend = "node-dawn" | "chromium-worker";

/** Max absolute log-probability difference allowed for F32 weights. */
export const WEBGPU_F32_BOUND = 2e-3;
/** The same for quantized, F16 and BF16 weights. */
export const WEBGPU_QUANTIZED_BOUND = 3e-2;

/** Returns the bound for a file's dominant weight type: tight for F32, loose for every other type. */
export function webgpuParityBound(type: GGMLType): number {
  return type === GGMLType.F32 ? WEBGPU_F32_BOUND : WEBGPU_QUANTIZED_BOUND;
}

/** The expected values of one prompt, at llama.cpp's top-K token ids. */
export interface ParityCase {
  prompt: string;
  /** Our tokenizer's ids for the prompt, with BOS when the vocabulary adds one. */
  tokens: number[];
  /** llama.cpp's K most likely next tokens, most likely first. */
  ids: number[];
  /** [K] llama.cpp's log-probabilities at `ids`. */
  llamaCpp: number[];
  /** [K] log-probabilities of the float32 reference without activation rounding, at `ids`. */
  reference: number[];
  /** [K] the same with the reference's emulation of llama.cpp's activation rounding. */
  roundedReference: number[];
  /** Argmax of the reference over the whole vocabulary. */
  referenceTop1: number;
}

export interface ParityExpectations {
  fixture: string;
  weightType: string;
  /** Max absolute log-probability difference allowed, from `webgpuParityBound`. */
  bound: number;
  cases: ParityCase[];
}

/** One backend's scores for one case. */
export interface GPUCaseScores {
  /** [K] log-probabilities at the case's `ids`, with f32 activations. */
  logProbs: number[];
  /** Argmax over the whole vocabulary. */
  top1: number;
  /** The same with activations rounded as llama.cpp rounds them (`activationRounding: "llama.cpp"`). */
  rounded: { logProbs: number[]; top1: number };
}

export interface WebGPUParityResult {
  fixture: string;
  backend: WebGPUParityBackend;
  weightType: string;
  bound: number;
  prompts: number;
  /** Max |GPU - reference| over every prompt's top-K ids, neither rounding activations. Null when the backend failed. */
  maxAbsDiffVsReference: number | null;
  /** Max |GPU rounding activations as llama.cpp does - llama.cpp| over the same ids. Null when the backend failed. */
  maxAbsDiffVsLlamaCpp: number | null;
  /** Max |GPU - reference|, both rounding activations as llama.cpp does. Null when the backend failed. */
  maxAbsDiffVsRoundedReference: number | null;
  /** Max |GPU with f32 activations - llama.cpp|: how far the default path is from llama.cpp. Null when the backend failed. */
  maxAbsDiffUnroundedVsLlamaCpp: number | null;
  /**
   * Max |reference with llama.cpp's activation rounding - llama.cpp|. When this is far below
   * `maxAbsDiffVsLlamaCpp`, the rounding explains most of the GPU's difference from llama.cpp.
   */
  maxAbsDiffRoundedReferenceVsLlamaCpp: number;
  /** True on every prompt when the GPU's top-1 equals the reference's, and the rounding GPU's equals llama.cpp's. */
  top1Match: boolean;
  passed: boolean;
  /** The reason the backend produced no scores, such as a weight type the GPU kernels do not decode. */
  error?: string;
}

/**
 * Runs every prompt through llama.cpp and through the reference (with and without activation
 * rounding) and keeps the values at llama.cpp's top-K ids.
 */
export async function computeParityExpectations(fixture: string, path: string, prompts: readonly string[] = PARITY_PROMPTS): Promise<ParityExpectations> {
  const source = await openFileSource(path);
  const oracle = await LlamaCppOracle.load(path);
  try {
    const file = await GGUFFile.open(source);
    const tokenizer = Tokenizer.fromGGUF(file);
    const reference = await ReferenceModel.load(file);
    const rounded = await ReferenceModel.load(file, { activationRounding: "llama.cpp" });
    const weightType = dominantWeightType(file);

    const cases: ParityCase[] = [];
    for (const prompt of prompts) {
      const tokens = tokenizer.encode([{ text: prompt, special: false }], { addSpecial: true });
      const theirs = await oracle.lastTokenLogProbs(tokens, PARITY_TOP_K);
      const ids = theirs.map((entry) => entry.token);
      const ours = logSoftmax(reference.forward(tokens).logits); // [vocab]
      const oursRounded = logSoftmax(rounded.forward(tokens).logits); // [vocab]

      cases.push({
        prompt,
        tokens,
        ids,
        llamaCpp: theirs.map((entry) => entry.logProb),
        reference: ids.map((id) => ours[id]!),
        roundedReference: ids.map((id) => oursRounded[id]!),
        referenceTop1: argmax(ours),
      });
    }
    return { fixture, weightType: ggmlTypeName(weightType), bound: webgpuParityBound(weightType), cases };
  } finally {
    await oracle.dispose();
    await source.close?.();
  }
}

/** Picks the values at `ids` and the argmax out of full-vocabulary log-probabilities, f32 and rounded. */
export function scoresFromLogProbs(logProbs: ArrayLike<number>, rounded: ArrayLike<number>, ids: readonly number[]): GPUCaseScores {
  return {
    logProbs: ids.map((id) => logProbs[id]!),
    top1: argmax(logProbs),
    rounded: { logProbs: ids.map((id) => rounded[id]!), top1: argmax(rounded) },
  };
}

/** Compares one backend's scores (one entry per case, in order) with the expectations. */
export function compareGPUScores(expected: ParityExpectations, backend: WebGPUParityBackend, scores: readonly GPUCaseScores[]): WebGPUParityResult {
  if (scores.length !== expected.cases.length) {
    throw new InvalidInputError(`compareGPUScores: ${backend} returned ${scores.length} scores for ${expected.cases.length} prompts of ${expected.fixture}; pass one per prompt`);
  }

  let maxAbsDiffVsReference = 0;
  let maxAbsDiffVsLlamaCpp = 0;
  let maxAbsDiffVsRoundedReference = 0;
  let maxAbsDiffUnroundedVsLlamaCpp = 0;
  let top1Match = true;
  expected.cases.forEach((c, index) => {
    const gpu = scores[index]!;
    if (gpu.logProbs.length !== c.ids.length || gpu.rounded.logProbs.length !== c.ids.length) {
      throw new InvalidInputError(`compareGPUScores: ${backend} returned ${gpu.logProbs.length} log-probabilities for the ${c.ids.length} ids of prompt ${index} of ${expected.fixture}`);
    }
    maxAbsDiffVsReference = Math.max(maxAbsDiffVsReference, maxAbsDiff(gpu.logProbs, c.reference));
    maxAbsDiffVsLlamaCpp = Math.max(maxAbsDiffVsLlamaCpp, maxAbsDiff(gpu.rounded.logProbs, c.llamaCpp));
    maxAbsDiffVsRoundedReference = Math.max(maxAbsDiffVsRoundedReference, maxAbsDiff(gpu.rounded.logProbs, c.roundedReference));
    maxAbsDiffUnroundedVsLlamaCpp = Math.max(maxAbsDiffUnroundedVsLlamaCpp, maxAbsDiff(gpu.logProbs, c.llamaCpp));
    if (gpu.top1 !== c.referenceTop1 || gpu.rounded.top1 !== c.ids[0]) top1Match = false;
  });

  return {
    fixture: expected.fixture,
    backend,
    weightType: expected.weightType,
    bound: expected.bound,
    prompts: expected.cases.length,
    maxAbsDiffVsReference,
    maxAbsDiffVsLlamaCpp,
    maxAbsDiffVsRoundedReference,
    maxAbsDiffUnroundedVsLlamaCpp,
    maxAbsDiffRoundedReferenceVsLlamaCpp: roundingEffect(expected),
    top1Match,
    passed: top1Match && maxAbsDiffVsReference <= expected.bound && maxAbsDiffVsLlamaCpp <= expected.bound,
  };
}

/** Returns the entry of a backend that failed with `error` before producing scores. */
export function failedWebGPUParityResult(expected: ParityExpectations, backend: WebGPUParityBackend, error: unknown): WebGPUParityResult {
  return {
    fixture: expected.fixture,
    backend,
    weightType: expected.weightType,
    bound: expected.bound,
    prompts: expected.cases.length,
    maxAbsDiffVsReference: null,
    maxAbsDiffVsLlamaCpp: null,
    maxAbsDiffVsRoundedReference: null,
    maxAbsDiffUnroundedVsLlamaCpp: null,
    maxAbsDiffRoundedReferenceVsLlamaCpp: roundingEffect(expected),
    top1Match: false,
    passed: false,
    error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
  };
}

/** Scores every case with a full-vocabulary forward pass of the WebGPU model in `context`. */
export async function scoreWithDawn(context: GPUContext, path: string, cases: readonly ParityCase[]): Promise<GPUCaseScores[]> {
  const source = await openFileSource(path);
  let model: WebGPUModel | undefined;
  try {
    model = await WebGPUModel.load(await GGUFFile.open(source), { context });
    const scores: GPUCaseScores[] = [];
    for (const c of cases) {
      const { logProbs } = await model.forward(c.tokens); // [vocab], log-softmax computed on the GPU
      const rounded = await model.forward(c.tokens, { activationRounding: "llama.cpp" }); // [vocab]
      scores.push(scoresFromLogProbs(logProbs, rounded.logProbs, c.ids));
    }
    return scores;
  } finally {
    model?.dispose();
    await source.close?.();
  }
}

/** Formats one result as a line of the parity report. */
export function formatWebGPUParityResult(result: WebGPUParityResult): string {
  const diff = (value: number | null): string => (value === null ? "n/a" : value.toExponential(2));
  const head = `webgpu ${result.backend.padEnd(15)} ${result.fixture.padEnd(20)} ${result.weightType.padEnd(5)}`;
  if (result.error !== undefined) return `${head} FAILED: ${result.error}`;
  return (
    `${head} vs reference ${diff(result.maxAbsDiffVsReference)} vs llama.cpp ${diff(result.maxAbsDiffVsLlamaCpp)} ` +
    `(rounded vs rounded reference ${diff(result.maxAbsDiffVsRoundedReference)}, f32 vs llama.cpp ${diff(result.maxAbsDiffUnroundedVsLlamaCpp)}, ` +
    `rounded reference vs llama.cpp ${diff(result.maxAbsDiffRoundedReferenceVsLlamaCpp)}, bound ${result.bound}) ` +
    `top1 ${result.top1Match ? "same" : "DIFFERENT"} ${result.passed ? "ok" : "FAILED"}`
  );
}

/** Max |rounded reference - llama.cpp| over every case: what activation rounding leaves unexplained. */
function roundingEffect(expected: ParityExpectations): number {
  return Math.max(0, ...expected.cases.map((c) => maxAbsDiff(c.roundedReference, c.llamaCpp)));
}

function maxAbsDiff(a: readonly number[], b: readonly number[]): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const diff = Math.abs(a[i]! - b[i]!);
    // NaN counts as an infinite difference, so a broken kernel cannot pass.
    max = Math.max(max, Number.isNaN(diff) ? Infinity : diff);
  }
  return max;
}

function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
