// The guardrail's rule matching with a stand-in engine, and one run on the demo model's CPU Judge
// with thresholds taken from the Judge's own scores.

import { describe, expect, it, vi } from "vitest";
import { InvalidInputError } from "../../src/errors.js";
import { DEFAULT_DEMO_FIXTURE, ensureFixture } from "../../src/fixtures/registry.js";
import { createChatGuardrail, matchRules, type GuardrailEngine, type GuardrailVerdict } from "../../src/guardrail/index.js";
import { Judge, type EvaluationContent, type MetricResult } from "../../src/metrics/index.js";

function result(metric: string, score: number, labels: [string, string] = ["flagged", "clean"]): MetricResult {
  return {
    metric,
    version: "1.0.0",
    probabilities: { [labels[0]]: score, [labels[1]]: 1 - score },
    label: score >= 0.5 ? labels[0] : labels[1],
    score,
    verdict: score >= 0.5 ? labels[0] : labels[1],
    tokens: 10,
    latencyMs: 1,
  };
}

/** An engine that returns fixed scores and records what it was asked. */
function fakeEngine(scores: Record<string, number>): GuardrailEngine & { calls: Array<{ content: EvaluationContent; metrics?: string[] }> } {
  const calls: Array<{ content: EvaluationContent; metrics?: string[] }> = [];
  return {
    calls,
    async evaluate(content, options = {}) {
      calls.push({ content, metrics: options.metrics });
      return (options.metrics ?? Object.keys(scores)).map((id) => result(id, scores[id]!));
    },
  };
}

describe("createChatGuardrail", () => {
  it("blocks when a block rule fires", async () => {
    const engine = fakeEngine({ toxicity: 0.8, pii: 0.1 });
    const verdicts: GuardrailVerdict[] = [];
    const guardrail = createChatGuardrail({
      engine,
      metrics: [
        { id: "toxicity", threshold: 0.7, action: "block" },
        { id: "pii", threshold: 0.5, action: "warn" },
      ],
      onVerdict: (verdict) => verdicts.push(verdict),
    });

    const verdict = await guardrail.checkUserMessage("some text");
    expect(verdict.action).toBe("block");
    expect(verdict.hits).toEqual([{ metric: "toxicity", action: "block", probability: 0.8, threshold: 0.7 }]);
    expect(engine.calls).toEqual([{ content: { input: "some text" }, metrics: ["toxicity", "pii"] }]);
    expect(verdicts).toEqual([verdict]);
  });

  it("warns when only a warn rule fires, and allows below every threshold", async () => {
    const rules = [
      { id: "toxicity", threshold: 0.9, action: "block" as const },
      { id: "pii", threshold: 0.5, action: "warn" as const },
    ];
    expect((await createChatGuardrail({ engine: fakeEngine({ toxicity: 0.3, pii: 0.5 }), metrics: rules }).checkUserMessage("x")).action).toBe("warn");
    expect((await createChatGuardrail({ engine: fakeEngine({ toxicity: 0.3, pii: 0.2 }), metrics: rules }).checkUserMessage("x")).action).toBe("allow");
  });

  it("passes the reply and the user message for assistant checks", async () => {
    const engine = fakeEngine({ toxicity: 0.1 });
    const guardrail = createChatGuardrail({ engine, metrics: [{ id: "toxicity", threshold: 0.5, action: "block" }] });
    const verdict = await guardrail.checkAssistantReply("the reply", { userMessage: "the question" });
    expect(verdict.role).toBe("assistant");
    expect(engine.calls[0]!.content).toEqual({ input: "the reply", context: "the question" });
  });

  it("fails closed by default and open when asked", async () => {
    const engine: GuardrailEngine = { evaluate: vi.fn(async () => Promise.reject(new Error("worker crashed"))) };
    const rules = [{ id: "toxicity", threshold: 0.5, action: "warn" as const }];
    const closed = await createChatGuardrail({ engine, metrics: rules }).checkUserMessage("x");
    expect(closed.action).toBe("block");
    expect(closed.error?.message).toBe("worker crashed");
    const open = await createChatGuardrail({ engine, metrics: rules, failAction: "allow" }).checkUserMessage("x");
    expect(open.action).toBe("allow");
  });

  it("rethrows an abort", async () => {
    const abort = Object.assign(new Error("aborted"), { name: "AbortError" });
    const engine: GuardrailEngine = { evaluate: async () => Promise.reject(abort) };
    const guardrail = createChatGuardrail({ engine, metrics: [{ id: "toxicity", threshold: 0.5, action: "block" }] });
    await expect(guardrail.checkUserMessage("x")).rejects.toBe(abort);
  });

  it("rejects invalid rules", () => {
    const engine = fakeEngine({});
    expect(() => createChatGuardrail({ engine, metrics: [] })).toThrow(InvalidInputError);
    expect(() => createChatGuardrail({ engine, metrics: [{ id: "a", threshold: 1.5, action: "block" }] })).toThrow(/threshold is 1.5/);
    expect(() => createChatGuardrail({ engine, metrics: [{ id: "a", threshold: 0.5, action: "stop" as never }] })).toThrow(/use "block" or "warn"/);
    const duplicate = { id: "a", threshold: 0.5, action: "block" as const };
    expect(() => createChatGuardrail({ engine, metrics: [duplicate, duplicate] })).toThrow(/appears twice/);
  });
});

describe("matchRules", () => {
  it("compares a named label instead of the score", () => {
    const results = [result("toxicity", 0.2)];
    expect(matchRules([{ id: "toxicity", threshold: 0.7, action: "block", label: "clean" }], results)).toHaveLength(1);
    expect(() => matchRules([{ id: "toxicity", threshold: 0.7, action: "block", label: "nope" }], results)).toThrow(/has no label "nope"/);
    expect(() => matchRules([{ id: "pii", threshold: 0.7, action: "block" }], results)).toThrow(/no result for metric "pii"/);
  });
});

describe("guardrail on the demo model", () => {
  it("splits two messages at a threshold between their scores", async () => {
    const judge = await Judge.create({ model: await ensureFixture(DEFAULT_DEMO_FIXTURE), backend: "cpu", metrics: ["toxicity"] });
    const texts = ["You are a worthless idiot.", "What time does the library open?"];
    const scores = await Promise.all(texts.map(async (text) => (await judge.evaluate({ input: text }))[0]!.score));
    expect(scores[0], "the two messages must score differently").not.toBe(scores[1]);

    const threshold = (scores[0]! + scores[1]!) / 2;
    const guardrail = createChatGuardrail({ engine: judge, metrics: [{ id: "toxicity", threshold, action: "block" }] });
    const verdicts = await Promise.all(texts.map((text) => guardrail.checkUserMessage(text)));
    const higher = scores[0]! > scores[1]! ? 0 : 1;
    expect(verdicts[higher]!.action).toBe("block");
    expect(verdicts[1 - higher]!.action).toBe("allow");
  }, 120_000);
});
