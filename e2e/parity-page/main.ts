// Parity page: one worker runtime for the whole page, so pipelines compiled for one model are
// reused by the next. The Node side (./chromium.ts) calls `window.tokenjudgeParity.score()` once
// per model through page.evaluate.

import { TokenjudgeError } from "../../src/errors.js";
import { createWorkerRuntime } from "../../src/worker/client.js";

/** One prompt to score: its token ids, and the ids whose log-probabilities are returned. */
export interface PageCase {
  tokens: number[];
  ids: number[];
}

/** Scores of one case: f32 activations, and activations rounded as llama.cpp rounds them. */
export interface PageCaseScores {
  logProbs: number[];
  top1: number;
  rounded: { logProbs: number[]; top1: number };
}

export type PageScores =
  | { ok: true; scores: PageCaseScores[] }
  | { ok: false; name: string; code: string | undefined; message: string };

export interface ParityPageApi {
  /** Loads the model at `modelUrl` (replacing the previous one) and scores every case. */
  score(modelUrl: string, cases: PageCase[]): Promise<PageScores>;
}

const runtime = createWorkerRuntime();

function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

async function score(modelUrl: string, cases: PageCase[]): Promise<PageScores> {
  try {
    await runtime.loadModel({ url: modelUrl });
    const scores: PageCaseScores[] = [];
    for (const { tokens, ids } of cases) {
      // Full vocabulary: logProbs is the runtime's log-softmax over every logit.
      const { logProbs } = await runtime.logits(tokens);
      const rounded = (await runtime.logits(tokens, { activationRounding: "llama.cpp" })).logProbs;
      scores.push({
        logProbs: ids.map((id) => logProbs[id]!),
        top1: argmax(logProbs),
        rounded: { logProbs: ids.map((id) => rounded[id]!), top1: argmax(rounded) },
      });
    }
    return { ok: true, scores };
  } catch (error) {
    const code = error instanceof TokenjudgeError ? error.code : undefined;
    return { ok: false, name: (error as Error).name, code, message: (error as Error).message };
  }
}

(window as unknown as { tokenjudgeParity: ParityPageApi }).tokenjudgeParity = { score };
document.getElementById("status")!.textContent = "ready";
