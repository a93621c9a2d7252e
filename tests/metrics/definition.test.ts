import { describe, expect, it } from "vitest";

import { MetricDefinitionError } from "../../src/errors.js";
import { BUILTIN_METRICS, TOXICITY } from "../../src/metrics/builtins.js";
import { calibratedProbabilities, decide } from "../../src/metrics/calibration.js";
import { templateSlots, validateMetricDefinition, type MetricDefinition } from "../../src/metrics/definition.js";

/** Returns a copy of the toxicity metric with `patch` applied at the top level. */
function variant(patch: Record<string, unknown>): unknown {
  return { ...structuredClone(TOXICITY), ...patch };
}

function expectInvalid(value: unknown, field: string): MetricDefinitionError {
  try {
    validateMetricDefinition(value);
  } catch (error) {
    expect(error).toBeInstanceOf(MetricDefinitionError);
    expect((error as MetricDefinitionError).field).toBe(field);
    expect((error as MetricDefinitionError).code).toBe("METRIC_INVALID");
    return error as MetricDefinitionError;
  }
  throw new Error(`expected a MetricDefinitionError on ${field}`);
}

const SHA = "a".repeat(64);

describe("validateMetricDefinition", () => {
  it("accepts every built-in metric", () => {
    for (const metric of Object.values(BUILTIN_METRICS)) expect(validateMetricDefinition(structuredClone(metric))).toEqual(metric);
  });

  it("accepts a JSON round trip with an adapter", () => {
    const definition = variant({ adapter: { url: "https://example.invalid/a.gguf", sha256: SHA, mode: "activated", format: "gguf" } });
    expect(validateMetricDefinition(JSON.parse(JSON.stringify(definition)))).toEqual(definition);
  });

  it.each([
    ["id", variant({ id: "Bad Id" })],
    ["version", variant({ version: "v1" })],
    ["description", variant({ description: 3 })],
    ["template", variant({ template: "text" })],
    ["template.content", variant({ template: { content: "no slots here", suffix: "Q?" } })],
    ["template.content", variant({ template: { content: "{inputs}", suffix: "Q?" } })],
    ["template.suffix", variant({ template: { content: "{input}", suffix: " " } })],
    ["template.suffix", variant({ template: { content: "{input}", suffix: "About {output}?" } })],
    ["labels", variant({ labels: [{ name: "only", text: " Yes" }] })],
    ["labels[1].name", variant({ labels: [{ name: "a", text: " Yes" }, { name: "a", text: " No" }] })],
    ["labels[0].text", variant({ labels: [{ name: "a", text: "" }, { name: "b", text: " No" }] })],
    ["calibration.temperature", variant({ calibration: { temperature: 0 } })],
    ["calibration.bias.unknown", variant({ calibration: { bias: { unknown: 1 } } })],
    ["calibration.bias.toxic", variant({ calibration: { bias: { toxic: "1" } } })],
    ["decision.rule", variant({ decision: { rule: "vote" } })],
    ["decision.positive", variant({ decision: { rule: "threshold", positive: "nope", threshold: 0.5 } })],
    ["decision.threshold", variant({ decision: { rule: "threshold", positive: "toxic", threshold: 1.5 } })],
    ["adapter", variant({ adapter: { sha256: SHA, mode: "activated", format: "gguf" } })],
    ["adapter.sha256", variant({ adapter: { file: "a.gguf", sha256: "XYZ", mode: "activated", format: "gguf" } })],
    ["adapter.mode", variant({ adapter: { file: "a.gguf", sha256: SHA, mode: "always", format: "gguf" } })],
    ["adapter.format", variant({ adapter: { file: "a.gguf", sha256: SHA, mode: "classic", format: "onnx" } })],
  ])("rejects a bad %s", (field, value) => {
    expectInvalid(value, field);
  });

  it("names the metric in the message", () => {
    const error = expectInvalid(variant({ version: "1" }), "version");
    expect(error.metric).toBe("toxicity");
    expect(error.message).toContain('metric "toxicity"');
  });

  it("rejects a non-object document", () => {
    expectInvalid([], "(root)");
  });
});

describe("templateSlots", () => {
  it("lists slots in order of first use", () => {
    expect(templateSlots("{tools} then {input} then {tools} and {tool_call}")).toEqual(["tools", "input", "tool_call"]);
  });
});

describe("calibration and decision", () => {
  const labels = ["yes", "no"];

  it("softmaxes over the class logits only", () => {
    const [yes, no] = calibratedProbabilities([2, 0], labels);
    expect(yes).toBeCloseTo(1 / (1 + Math.exp(-2)), 12);
    expect(yes! + no!).toBeCloseTo(1, 12);
  });

  it("applies bias before temperature", () => {
    const [yes] = calibratedProbabilities([2, 0], labels, { bias: { no: 1 }, temperature: 2 });
    expect(yes).toBeCloseTo(1 / (1 + Math.exp(-0.5)), 12);
  });

  it("stays finite for huge logits", () => {
    const probabilities = calibratedProbabilities([1e6, -1e6], labels);
    expect(probabilities).toEqual([1, 0]);
  });

  it("threshold rule picks the positive label at the threshold", () => {
    const decision: MetricDefinition["decision"] = { rule: "threshold", positive: "yes", threshold: 0.3 };
    const result = decide([0.3, 0.7], labels, decision);
    expect(result.label).toBe("no");
    expect(result.verdict).toBe("yes");
    expect(result.score).toBe(0.3);
  });

  it("threshold rule falls back to the best other label", () => {
    const result = decide([0.2, 0.5, 0.3], ["yes", "no", "maybe"], { rule: "threshold", positive: "yes", threshold: 0.5 });
    expect(result.verdict).toBe("no");
    expect(result.score).toBe(0.2);
  });

  it("argmax rule reports the top probability", () => {
    const result = decide([0.1, 0.6, 0.3], ["a", "b", "c"], { rule: "argmax" });
    expect(result).toEqual({ probabilities: { a: 0.1, b: 0.6, c: 0.3 }, label: "b", score: 0.6, verdict: "b" });
  });
});
