import { describe, expect, it } from "vitest";
import { CUSTOM_METRIC_EXAMPLE, parseCustomMetrics } from "../../src/app/custom-metrics.js";
import { InvalidInputError, MetricDefinitionError } from "../../src/errors.js";

describe("parseCustomMetrics", () => {
  it("accepts one definition or an array", () => {
    expect(parseCustomMetrics(JSON.stringify(CUSTOM_METRIC_EXAMPLE)).map((metric) => metric.id)).toEqual(["off-topic"]);
    const two = [CUSTOM_METRIC_EXAMPLE, { ...CUSTOM_METRIC_EXAMPLE, id: "second" }];
    expect(parseCustomMetrics(JSON.stringify(two)).map((metric) => metric.id)).toEqual(["off-topic", "second"]);
    expect(parseCustomMetrics("  ")).toEqual([]);
  });

  it("reports invalid JSON with line and column", () => {
    let caught: unknown;
    try {
      parseCustomMetrics('{\n  "id": "x",\n  oops\n}');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidInputError);
    expect((caught as Error).message).toMatch(/invalid JSON at line 3, column 3/);
  });

  it("names the field and the array index of an invalid definition", () => {
    const bad = [CUSTOM_METRIC_EXAMPLE, { ...CUSTOM_METRIC_EXAMPLE, id: "bad", decision: { rule: "threshold", positive: "nope", threshold: 0.5 } }];
    let caught: unknown;
    try {
      parseCustomMetrics(JSON.stringify(bad));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(MetricDefinitionError);
    expect((caught as MetricDefinitionError).field).toBe("[1].decision.positive");
    expect((caught as Error).message).toBe('metric "bad": [1].decision.positive: "nope" names no label; labels are off_topic, on_topic');
  });

  it("rejects built-in and duplicate ids", () => {
    expect(() => parseCustomMetrics(JSON.stringify({ ...CUSTOM_METRIC_EXAMPLE, id: "toxicity" }))).toThrow(/id of a built-in metric/);
    expect(() => parseCustomMetrics(JSON.stringify([CUSTOM_METRIC_EXAMPLE, CUSTOM_METRIC_EXAMPLE]))).toThrow(/appears twice/);
  });
});
