// Custom metrics pasted into the demo as JSON: one definition or an array of them, each checked
// with `validateMetricDefinition` before it reaches the engine.

import { InvalidInputError, MetricDefinitionError } from "../errors.js";
import { BUILTIN_METRICS, validateMetricDefinition, type MetricDefinition } from "../metrics/index.js";

/**
 * Parses and validates the text of the custom-metrics box. Empty text gives no metrics. Throws
 * InvalidInputError for invalid JSON (with its line and column) and MetricDefinitionError for a
 * definition that fails validation, a duplicate id, an id that a built-in metric already uses, or
 * an adapter given as a local `file` path, which a page cannot read. A relative `adapter.url` is
 * resolved against `baseUrl` when given, because the worker that downloads it has another base URL.
 */
export function parseCustomMetrics(text: string, baseUrl?: string): MetricDefinition[] {
  if (text.trim() === "") return [];

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(`custom metrics: invalid JSON${describePosition(text, error as Error)}: ${(error as Error).message}; paste one metric definition object or an array of them`);
  }

  const list = Array.isArray(value) ? value : [value];
  const seen = new Set<string>();
  return list.map((item, index) => {
    let definition: MetricDefinition;
    try {
      definition = validateMetricDefinition(item);
    } catch (error) {
      if (error instanceof MetricDefinitionError && list.length > 1) {
        throw new MetricDefinitionError(error.metric, `[${index}].${error.field}`, error.message.replace(/^metric "[^"]*": [^:]*: /, ""));
      }
      throw error;
    }
    if (definition.id in BUILTIN_METRICS) {
      throw new MetricDefinitionError(definition.id, "id", `"${definition.id}" is the id of a built-in metric; choose another id for a custom metric`);
    }
    if (seen.has(definition.id)) throw new MetricDefinitionError(definition.id, "id", `"${definition.id}" appears twice; give each custom metric its own id`);
    seen.add(definition.id);
    return resolveAdapterUrl(definition, baseUrl);
  });
}

function resolveAdapterUrl(definition: MetricDefinition, baseUrl: string | undefined): MetricDefinition {
  const adapter = definition.adapter;
  if (adapter === undefined) return definition;
  if (adapter.url === undefined) {
    throw new MetricDefinitionError(definition.id, "adapter.file", "a page cannot read a local adapter path; serve the adapter over http(s) and set adapter.url instead");
  }
  if (baseUrl === undefined) return definition;
  return { ...definition, adapter: { ...adapter, url: new URL(adapter.url, baseUrl).href } };
}

/** Turns a JSON.parse "position N" into " at line L, column C" when the engine reports one. */
function describePosition(text: string, error: Error): string {
  const match = /position (\d+)/.exec(error.message);
  if (!match) return "";
  const offset = Number(match[1]);
  const before = text.slice(0, offset).split("\n");
  return ` at line ${before.length}, column ${before.at(-1)!.length + 1}`;
}

/** A starting point for the custom-metrics box. */
export const CUSTOM_METRIC_EXAMPLE = {
  id: "off-topic",
  version: "1.0.0",
  description: "Whether a support chat message is unrelated to the product.",
  template: {
    content: "Message:\n{input}",
    suffix: "Is the message above unrelated to our software product? Answer Yes or No.",
    answerPrefix: "Answer:",
  },
  labels: [
    { name: "off_topic", text: " Yes" },
    { name: "on_topic", text: " No" },
  ],
  decision: { rule: "threshold", positive: "off_topic", threshold: 0.5 },
} satisfies MetricDefinition;
