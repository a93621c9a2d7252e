// Whole-model parity: the reference forward pass against llama.cpp on every fixture.

import { describe, expect, it } from "vitest";

import { compareLogitsWithLlamaCpp, PARITY_PROMPTS } from "../../src/oracle/logits-parity.js";
import { logitsParityTargets } from "../../src/oracle/parity-targets.js";

/** Short prompts: a few tokens, before rounding differences compound through the positions. */
const SHORT_PROMPTS = ["Once upon a time", "안녕 😀", "Is it toxic?"];

const PROMPT_SETS = { short: SHORT_PROMPTS, full: PARITY_PROMPTS } as const;

describe("reference logits vs llama.cpp", () => {
  for (const target of logitsParityTargets()) {
    if (target.unavailable !== undefined) {
      it.skip(`${target.name} (${target.unavailable})`, () => undefined);
      console.warn(`skipping logits parity for ${target.name}: ${target.unavailable}`);
      continue;
    }

    for (const [setName, prompts] of Object.entries(PROMPT_SETS)) {
      it(`${target.name} matches on ${setName} prompts`, async () => {
        const result = await compareLogitsWithLlamaCpp(target.name, await target.path(), prompts);
        expect(result.top1Match, `top-1 differs on ${target.name}`).toBe(true);
        expect(result.maxAbsDiff, `max |Δ log p| over the top-20 on ${target.name} (${result.weightType}), ${setName} prompts`).toBeLessThanOrEqual(result.tolerance);
      });
    }
  }
});
