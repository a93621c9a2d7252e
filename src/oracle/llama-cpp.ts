// llama.cpp as the oracle, through node-llama-cpp 3.21.1 with its CPU prebuilt binary.
//
// Tokenization: `LlamaModel.tokenize(text, specialTokens)` calls llama.cpp's
// `common_tokenize(vocab, text, add_special = false, parse_special = specialTokens)`, so it never
// adds BOS or EOS, and with `specialTokens = false` the text of a special token ("<s>") is
// tokenized as plain text.
//
// Probabilities: `LlamaContextSequence.controlledEvaluate` with `generateNext.probabilities` runs
// the sampler chain on the last logits and returns softmax(logits) over what the chain leaves. With
// temperature 0 node-llama-cpp builds a chain of only a greedy sampler (no top-k, top-p, min-p or
// temperature), and repeat penalties apply only when penalty tokens are passed, which this wrapper
// never does. So the returned map covers the whole vocabulary with unchanged logits, and the tests
// check that its size equals the vocabulary and that it sums to 1. (Read from the package's
// dist/evaluator/LlamaContext/LlamaContext.js and llama/addon/AddonSampler.cpp.)
//
// Normalization: the addon (llama/addon/AddonContext.cpp) divides each exp(logit - max) by a sum
// it accumulates in one float32 variable, in vocabulary order. Over the 128k to 152k entries of
// the Llama 3 and Qwen3 vocabularies that sum drifted by about 4e-4 relative. The drift shifts
// every log-probability by the same amount, and it made float32 models differ from the reference
// by up to 6e-4. Every probability carries the same divisor, so this wrapper divides them again
// by their float64 sum, which restores exp(logit - max) / sum to float32 precision.
//
// LoRA: llama.cpp adds scale * (alpha / rank) * B·A to each adapted weight, where the adapter
// stores `<tensor>.lora_a` with dims [in, rank] and `<tensor>.lora_b` with dims [rank, out].

import {
  getLlama,
  LlamaLogLevel,
  type ControlledEvaluateInputItem,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaModel,
  type Token,
} from "node-llama-cpp";

import { InvalidInputError, OracleError } from "../errors.js";

export interface LlamaCppOracleOptions {
  /** Context size in tokens; defaults to the model's training context, at most 2048. */
  contextSize?: number;
  /** LoRA adapters applied to the context, each with its scale. */
  lora?: { path: string; scale: number }[];
  /** CPU threads for evaluation; llama.cpp's default when omitted. */
  threads?: number;
  /**
   * Element type of llama.cpp's KV cache. "F32" (the default here) keeps keys and values exact, so
   * the comparison measures the forward pass itself. "F16" is llama.cpp's own default and rounds
   * them, which moved last-token log-probabilities of the synthetic qwen3 test model by about 6e-3.
   */
  kvCacheType?: "F32" | "F16";
}

export interface TokenLogProb {
  token: number;
  logProb: number;
}

const DEFAULT_MAX_CONTEXT = 2048;

export class LlamaCppOracle {
  /** Serializes evaluations, because they share one context sequence. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(
    readonly path: string,
    private readonly llama: Llama,
    private readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly sequence: LlamaContextSequence,
  ) {}

  /** Loads `path` on the CPU; rejects with `OracleError` when llama.cpp cannot load the model or adapters. */
  static async load(path: string, options: LlamaCppOracleOptions = {}): Promise<LlamaCppOracle> {
    let llama: Llama | undefined;
    try {
      llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
      const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
      const contextSize = options.contextSize ?? Math.min(DEFAULT_MAX_CONTEXT, model.trainContextSize);
      const context = await model.createContext({
        contextSize,
        sequences: 1,
        threads: options.threads,
        flashAttention: false,
        experimentalKvCacheKeyType: options.kvCacheType ?? "F32",
        experimentalKvCacheValueType: options.kvCacheType ?? "F32",
        lora: options.lora === undefined ? undefined : { adapters: options.lora.map((adapter) => ({ filePath: adapter.path, scale: adapter.scale })) },
      });
      return new LlamaCppOracle(path, llama, model, context, context.getSequence());
    } catch (error) {
      await llama?.dispose().catch(() => undefined);
      throw new OracleError(`llama.cpp failed to load "${path}": ${(error as Error).message}; check the path and that the file is a GGUF model llama.cpp supports`, {
        cause: error,
      });
    }
  }

  /** Returns llama.cpp's token ids for `text`, without BOS. `special: true` parses special-token text. */
  tokenize(text: string, options: { special?: boolean } = {}): number[] {
    return this.model.tokenize(text, options.special ?? false);
  }

  /**
   * Evaluates `tokens` from an empty sequence and returns the `topK` most likely next tokens with
   * their natural-log probabilities, most likely first.
   */
  async lastTokenLogProbs(tokens: number[], topK: number): Promise<TokenLogProb[]> {
    if (!Number.isInteger(topK) || topK < 1) {
      throw new InvalidInputError(`lastTokenLogProbs: topK ${topK} is invalid; pass a positive integer`);
    }
    const probabilities = await this.lastTokenProbabilities(tokens);
    const result: TokenLogProb[] = [];
    for (const [token, probability] of probabilities) {
      if (result.length >= topK) break;
      result.push({ token, logProb: Math.log(probability) });
    }
    return result;
  }

  /**
   * Evaluates `tokens` from an empty sequence and returns the next-token probability of every
   * vocabulary entry, sorted from most to least likely (as node-llama-cpp orders the map).
   */
  lastTokenProbabilities(tokens: number[]): Promise<Map<number, number>> {
    if (tokens.length === 0) return Promise.reject(new InvalidInputError("lastTokenProbabilities: the token list is empty; pass at least one token id"));
    if (tokens.length > this.context.contextSize) {
      return Promise.reject(
        new InvalidInputError(`lastTokenProbabilities: ${tokens.length} tokens exceed the oracle's context size ${this.context.contextSize}; pass a larger contextSize to load()`),
      );
    }

    const run = async (): Promise<Map<number, number>> => {
      // Each call starts from an empty sequence, so calls are independent of each other.
      await this.sequence.clearHistory();

      // Only the last token requests the next-token distribution.
      // node-llama-cpp brands token ids as `Token`, a plain number at run time.
      const ids = tokens as Token[];
      const input: ControlledEvaluateInputItem[] = ids.slice(0, -1);
      input.push([ids[ids.length - 1]!, { generateNext: { probabilities: true, options: { temperature: 0 } } }]);

      let output;
      try {
        output = await this.sequence.controlledEvaluate(input);
      } catch (error) {
        throw new OracleError(`llama.cpp failed to evaluate ${tokens.length} tokens with "${this.path}": ${(error as Error).message}`, { cause: error });
      }

      const probabilities = output[tokens.length - 1]?.next.probabilities;
      if (probabilities === undefined) {
        throw new OracleError(`llama.cpp returned no probabilities for the last of ${tokens.length} tokens with "${this.path}"`);
      }
      return renormalize(probabilities, this.path);
    };

    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Releases the context, the model and the llama.cpp binding. */
  async dispose(): Promise<void> {
    await this.queue;
    await this.context.dispose();
    await this.model.dispose();
    await this.llama.dispose();
  }
}

/**
 * Divides every probability by their float64 sum, keeping the map's order, to undo the float32
 * rounding of the addon's normalizing sum (see the file header).
 */
function renormalize(probabilities: Map<number, number>, path: string): Map<number, number> {
  let sum = 0;
  for (const probability of probabilities.values()) sum += probability;
  if (!(sum > 0) || !Number.isFinite(sum)) {
    throw new OracleError(`llama.cpp returned probabilities that sum to ${sum} with "${path}"; the logits are probably NaN or infinite, so check the model file`);
  }

  const normalized = new Map<number, number>();
  for (const [token, probability] of probabilities) normalized.set(token, probability / sum);
  return normalized;
}
