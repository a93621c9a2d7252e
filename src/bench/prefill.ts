// The prefill measurement: for each model, backend and prompt length, a warm-up and then the
// median of timed prefills, plus each backend's load time and GPU weight memory.

import { stat } from "node:fs/promises";

import { InvalidInputError } from "../errors.js";
import type { GPUContext } from "../gpu/context.js";
import type { BackendName, PrefillBackend } from "./backend.js";
import { loadLlamaCppBackend } from "./backend-llamacpp.js";
import { loadReferenceBackend } from "./backend-reference.js";
import { loadWebGPUBackend } from "./backend-webgpu.js";
import { measure, promptTokenIds, type RunCounts } from "./timing.js";

/** A model file to measure. */
export interface BenchModel {
  /** Name in the report, such as "SmolLM2-135M shape". */
  label: string;
  /** Weight type in the report, such as "Q8_0". */
  quant: string;
  path: string;
}

export interface LoadResult {
  model: string;
  quant: string;
  backend: BackendName;
  settings: string;
  fileBytes: number;
  loadMs: number;
  /** GPU memory of the weights in bytes, or undefined on CPU backends. */
  weightBytes: number | undefined;
}

export interface PrefillResult {
  model: string;
  quant: string;
  backend: BackendName;
  tokens: number;
  warmup: number;
  samplesMs: number[];
  medianMs: number;
  tokensPerSecond: number;
  /** Most likely next token after the prompt, to compare backends. */
  topToken: number;
}

export interface PrefillBenchResults {
  loads: LoadResult[];
  prefills: PrefillResult[];
  /** Combinations not measured, with the reason. */
  skipped: string[];
}

export interface PrefillBenchPlan {
  models: BenchModel[];
  backends: BackendName[];
  lengths: number[];
  /** Longer prompts skip the reference backend. */
  referenceMaxTokens: number;
  counts: RunCounts;
  /** Seed of the prompt ids. */
  seed: number;
  /** Prompt ids are drawn from [0, promptIdLimit), ordinary tokens of every model's vocabulary. */
  promptIdLimit: number;
  /** Required when `backends` includes "webgpu". */
  context?: GPUContext;
  /** Receives progress lines, because runs on software adapters take many minutes. */
  log?: (line: string) => void;
  /** Called after each measurement with the results so far, for example to save a partial report. */
  onMeasured?: (results: PrefillBenchResults) => Promise<void> | void;
}

async function loadBackend(name: BackendName, path: string, plan: PrefillBenchPlan): Promise<PrefillBackend> {
  switch (name) {
    case "webgpu":
      if (!plan.context) throw new InvalidInputError("runPrefillBench: the webgpu backend needs plan.context; create one with createBenchContext()");
      return loadWebGPUBackend(path, plan.context);
    case "llamacpp":
      return loadLlamaCppBackend(path, { maxTokens: Math.max(...plan.lengths) });
    case "reference":
      return loadReferenceBackend(path);
  }
}

/**
 * Measures every prompt length, model and backend of `plan`, shortest prompts first, so that a run
 * stopped early still has complete short-prompt results. Each (length, model, backend) loads the
 * model afresh and frees it afterwards, so only one backend is in memory at a time. The load table
 * keeps the first load of each (model, backend).
 */
export async function runPrefillBench(plan: PrefillBenchPlan): Promise<PrefillBenchResults> {
  const results: PrefillBenchResults = { loads: [], prefills: [], skipped: [] };
  const log = plan.log ?? (() => undefined);

  for (const length of [...plan.lengths].sort((a, b) => a - b)) {
    for (const model of plan.models) {
      const fileBytes = (await stat(model.path)).size;

      for (const backendName of plan.backends) {
        if (backendName === "reference" && length > plan.referenceMaxTokens) {
          results.skipped.push(`${model.quant} reference ${length} tokens (longer than the reference limit of ${plan.referenceMaxTokens} tokens)`);
          continue;
        }

        log(`${model.quant} ${backendName}: loading ${model.path}`);
        const backend = await loadBackend(backendName, model.path, plan);
        try {
          if (!results.loads.some((entry) => entry.quant === model.quant && entry.model === model.label && entry.backend === backendName)) {
            results.loads.push({
              model: model.label,
              quant: model.quant,
              backend: backendName,
              settings: backend.settings,
              fileBytes,
              loadMs: backend.loadMs,
              weightBytes: backend.weightBytes,
            });
          }
          log(`${model.quant} ${backendName}: loaded in ${backend.loadMs.toFixed(0)} ms`);

          const tokens = promptTokenIds(plan.seed, length, plan.promptIdLimit);
          const measurement = await measure(() => backend.prefill(tokens), plan.counts);
          results.prefills.push({
            model: model.label,
            quant: model.quant,
            backend: backendName,
            tokens: length,
            warmup: plan.counts.warmup,
            samplesMs: measurement.samplesMs,
            medianMs: measurement.medianMs,
            tokensPerSecond: (length * 1000) / measurement.medianMs,
            topToken: measurement.lastResult,
          });
          log(`${model.quant} ${backendName} ${length} tokens: median ${measurement.medianMs.toFixed(1)} ms of ${measurement.samplesMs.length} runs`);
        } finally {
          await backend.dispose();
        }
        await plan.onMeasured?.(results);
      }
    }
  }
  return results;
}
