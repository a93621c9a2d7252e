// Whole-model parity: the reference forward pass against llama.cpp on every fixture.

import { describe, expect, it } from "vitest";

import { compareLogitsWithLlamaCpp } from "../../src/oracle/logits-parity.js";
import { logitsParityTargets } from "../../src/oracle/parity-targets.js";

describe("reference logits vs llama.cpp", () => {
  for (const target of logitsParityTargets()) {
    if (target.unavailable !== undefined) {
      it.skip(`${target.name} (${target.unavailable})`, () => undefined);
      console.warn(`skipping logits parity for ${target.name}: ${target.unavailable}`);
      continue;
    }

    it(`${target.name} matches`, async () => {
      const result = await compareLogitsWithLlamaCpp(target.name, await target.path());

      expect(result.top1Match, `top-1 differs on ${target.name}`).toBe(true);
      expect(result.maxAbsDiff, `max |Δ log p| over the top-20 on ${target.name} (${result.weightType})`).toBeLessThanOrEqual(result.tolerance);
    });
  }
});
