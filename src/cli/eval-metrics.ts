// Metric list of `tokenjudge eval`: built-in ids and custom metric JSON files, and LoRA adapters
// found by metric id in an `--adapters` folder.

import { existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";

import { PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE } from "../adapters/load.js";
import { sha256Hex } from "../adapters/sha256.js";
import { InvalidInputError, IOError } from "../errors.js";
import { BUILTIN_METRICS } from "../metrics/builtins.js";
import { validateMetricDefinition, type MetricAdapter, type MetricDefinition } from "../metrics/definition.js";

export const ADAPTER_MODES = ["activated", "classic"] as const;
export type AdapterMode = (typeof ADAPTER_MODES)[number];

/**
 * Resolves each comma-separated entry of `--metrics`: a built-in id, or the path of a metric
 * definition JSON file. A relative `adapter.file` in such a file is resolved against the file's
 * folder. Throws `InvalidInputError` for an entry that is neither, `MetricDefinitionError` for an
 * invalid file, and for two entries with the same id.
 */
export async function resolveMetricList(list: string): Promise<MetricDefinition[]> {
  const entries = list.split(",").map((entry) => entry.trim()).filter((entry) => entry !== "");
  if (entries.length === 0) throw new InvalidInputError(`--metrics "${list}" names no metric; pass built-in ids (${Object.keys(BUILTIN_METRICS).join(", ")}) or metric JSON paths`);

  const metrics: MetricDefinition[] = [];
  for (const entry of entries) {
    const metric = BUILTIN_METRICS[entry] ?? (await readMetricFile(entry));
    if (metrics.some((other) => other.id === metric.id)) {
      throw new InvalidInputError(`--metrics: metric id "${metric.id}" appears twice (from "${entry}"); give each metric once`);
    }
    metrics.push(metric);
  }
  return metrics;
}

async function readMetricFile(path: string): Promise<MetricDefinition> {
  if (!path.endsWith(".json") || !existsSync(path)) {
    throw new InvalidInputError(`--metrics: "${path}" is neither a built-in metric (${Object.keys(BUILTIN_METRICS).join(", ")}) nor an existing metric .json file`);
  }

  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, "utf8"));
  } catch (cause) {
    throw new IOError(`${path}: failed to read the metric definition: ${(cause as Error).message}; pass a JSON metric definition`, { cause });
  }
  const metric = validateMetricDefinition(value);

  if (metric.adapter?.file !== undefined && !isAbsolute(metric.adapter.file)) {
    return { ...metric, adapter: { ...metric.adapter, file: resolve(dirname(path), metric.adapter.file) } };
  }
  return metric;
}

/** The location of the adapter found for one metric. */
export interface FoundAdapter {
  metric: string;
  adapter: MetricAdapter;
}

/**
 * Attaches adapters from `folder` to `metrics` by id: `<id>.gguf` (llama.cpp GGUF LoRA) or a
 * `<id>/` PEFT folder with adapter_config.json and adapter_model.safetensors. The SHA-256 is
 * computed from the file found, so the Judge's integrity check passes for whatever the folder
 * contains. Metrics without a match keep their own adapter field, or none. Returns the new
 * definitions and the ids that got no adapter.
 */
export async function attachAdapters(
  metrics: MetricDefinition[],
  folder: string,
  mode: AdapterMode,
): Promise<{ metrics: MetricDefinition[]; missing: string[] }> {
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new InvalidInputError(`--adapters: "${folder}" is not a folder; pass a folder with <metric-id>.gguf files or <metric-id>/ PEFT folders`);
  }

  const missing: string[] = [];
  const attached: MetricDefinition[] = [];
  for (const metric of metrics) {
    const adapter = await findAdapter(folder, metric.id, mode, metric.adapter?.scale);
    if (adapter === undefined) missing.push(metric.id);
    attached.push(adapter === undefined ? metric : { ...metric, adapter });
  }
  return { metrics: attached, missing };
}

async function findAdapter(folder: string, id: string, mode: AdapterMode, scale: number | undefined): Promise<MetricAdapter | undefined> {
  const ggufPath = join(folder, `${id}.gguf`);
  const peftFolder = join(folder, id);
  const hasGGUF = existsSync(ggufPath);
  const hasPeft = existsSync(join(peftFolder, PEFT_CONFIG_FILE));
  if (hasGGUF && hasPeft) {
    throw new InvalidInputError(`--adapters: metric "${id}" has both ${ggufPath} and the PEFT folder ${peftFolder}; keep one of them`);
  }
  if (!hasGGUF && !hasPeft) return undefined;

  const weightsPath = hasGGUF ? ggufPath : join(peftFolder, PEFT_WEIGHTS_FILE);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(weightsPath));
  } catch (cause) {
    throw new IOError(`${weightsPath}: failed to read the adapter: ${(cause as Error).message}; check the --adapters folder`, { cause });
  }

  const adapter: MetricAdapter = { file: hasGGUF ? ggufPath : peftFolder, sha256: await sha256Hex(bytes), mode, format: hasGGUF ? "gguf" : "peft" };
  if (scale !== undefined) adapter.scale = scale;
  return adapter;
}
