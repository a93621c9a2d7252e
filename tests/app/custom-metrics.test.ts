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

  it("resolves a relative adapter url and rejects a local path", () => {
    const adapter = { sha256: "0".repeat(64), mode: "activated", format: "gguf" };
    const relative = { ...CUSTOM_METRIC_EXAMPLE, adapter: { ...adapter, url: "adapters/off-topic.gguf" } };
    const [resolved] = parseCustomMetrics(JSON.stringify(relative), "http://127.0.0.1:5173/demo/");
    expect(resolved?.adapter?.url).toBe("http://127.0.0.1:5173/demo/adapters/off-topic.gguf");
    expect(parseCustomMetrics(JSON.stringify(relative))[0]?.adapter?.url, "without a base URL").toBe("adapters/off-topic.gguf");

    const local = { ...CUSTOM_METRIC_EXAMPLE, adapter: { ...adapter, file: "/tmp/off-topic.gguf" } };
    expect(() => parseCustomMetrics(JSON.stringify(local))).toThrow(MetricDefinitionError);
    expect(() => parseCustomMetrics(JSON.stringify(local))).toThrow(/adapter\.file: a page cannot read a local adapter path/);
  });
});
