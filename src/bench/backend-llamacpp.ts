// llama.cpp through node-llama-cpp 3.21.1 (CPU prebuilt binary) as a bench backend. Each prefill
// clears the sequence and evaluates the whole prompt in one controlledEvaluate call, asking for a
// greedy next token at the last position only, so llama.cpp computes logits for that position alone.

import { availableParallelism } from "node:os";

import { getLlama, LlamaLogLevel, type ControlledEvaluateInputItem, type Token } from "node-llama-cpp";

import { InvalidInputError, OracleError } from "../errors.js";
import type { PrefillBackend } from "./backend.js";

export interface LlamaCppBackendOptions {
  /** Length of the longest prompt the bench sends. The batch size equals it, so one batch contains the whole prompt. */
  maxTokens: number;
  /** CPU threads, all logical cores (os.availableParallelism()) by default. */
  threads?: number;
}

// Context positions beyond the longest prompt.
const CONTEXT_MARGIN = 256;

/** Loads `path` with llama.cpp on the CPU. The load time covers the model and context creation. */
export async function loadLlamaCppBackend(path: string, options: LlamaCppBackendOptions): Promise<PrefillBackend> {
  const threads = options.threads ?? availableParallelism();
  if (!Number.isInteger(options.maxTokens) || options.maxTokens < 1) {
    throw new InvalidInputError(`llama.cpp backend: maxTokens ${options.maxTokens} is invalid; pass the longest prompt length`);
  }

  // maxThreads 0 lifts node-llama-cpp's own cap, so `threads` is the count llama.cpp uses.
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, maxThreads: 0 });
  try {
    const start = performance.now();
    const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
    // A context exactly as long as the prompt made node-llama-cpp shift the context while evaluating
    // it, which changed the result, so the context keeps room beyond the longest prompt.
    const context = await model.createContext({
      contextSize: options.maxTokens + CONTEXT_MARGIN,
      batchSize: options.maxTokens,
      sequences: 1,
      threads,
      experimentalKvCacheKeyType: "F16",
      experimentalKvCacheValueType: "F16",
    });
    const sequence = context.getSequence();
    const loadMs = performance.now() - start;

    const prefill = async (tokens: number[]): Promise<number> => {
      if (tokens.length === 0 || tokens.length > options.maxTokens) {
        throw new InvalidInputError(`llama.cpp backend: ${tokens.length} tokens requested, but it was loaded for 1 to ${options.maxTokens}; raise maxTokens`);
      }
      await sequence.clearHistory();

      // node-llama-cpp brands token ids as `Token`, a plain number at run time.
      const ids = tokens as Token[];
      const input: ControlledEvaluateInputItem[] = ids.slice(0, -1);
      input.push([ids[ids.length - 1]!, { generateNext: { token: true, options: { temperature: 0 } } }]);
      const output = await sequence.controlledEvaluate(input);

      const next = output[tokens.length - 1]?.next.token;
      if (next === undefined || next === null) {
        throw new OracleError(`llama.cpp returned no next token after ${tokens.length} tokens of "${path}"`);
      }
      return next;
    };

    return {
      name: "llamacpp",
      settings: `node-llama-cpp 3.21.1 CPU, ${context.idealThreads} threads, F16 KV cache, flash attention ${String(context.flashAttention)}, batch ${context.batchSize}`,
      loadMs,
      weightBytes: undefined,
      prefill,
      dispose: async () => {
        await context.dispose();
        await model.dispose();
        await llama.dispose();
      },
    };
  } catch (error) {
    await llama.dispose().catch(() => undefined);
    throw error;
  }
}
