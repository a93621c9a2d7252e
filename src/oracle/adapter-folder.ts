// Writes random LoRA adapters from a seed into a folder laid out as `tokenjudge eval --adapters`
// reads it: `<metric-id>.gguf` for the llama.cpp GGUF format, `<metric-id>/` for a PEFT folder.
// The parity run, the multi-metric benchmark and the eval tests use it (Node only).

import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { ggufLoraAdapterInput, peftAdapterFiles, randomLora } from "../adapters/fixtures.js";
import { PEFT_CONFIG_FILE, PEFT_WEIGHTS_FILE } from "../adapters/load.js";
import { writeGGUFFile } from "../gguf/write-file.js";
import type { ModelConfig } from "../model/config.js";

export interface FixtureAdapterSpec {
  metric: string;
  format: "gguf" | "peft";
}

/** Rank of the fixture adapters: small, so the files stay a few kilobytes on the tiny models. */
export const FIXTURE_ADAPTER_RANK = 4;

/**
 * Writes one adapter per spec into `folder` (created when missing), each drawn from
 * `${seed}/${metric}`, so the same seed and metric always give the same weights. Returns the
 * written paths by metric id: the GGUF file, or the PEFT folder.
 */
export async function writeFixtureAdapters(config: ModelConfig, folder: string, seed: string, specs: FixtureAdapterSpec[]): Promise<Record<string, string>> {
  await mkdir(folder, { recursive: true });
  const paths: Record<string, string> = {};

  for (const { metric, format } of specs) {
    const lora = randomLora(config, { seed: `${seed}/${metric}`, rank: FIXTURE_ADAPTER_RANK });
    if (format === "gguf") {
      const path = join(folder, `${metric}.gguf`);
      await writeGGUFFile(path, ggufLoraAdapterInput(lora, config.architecture));
      paths[metric] = path;
    } else {
      const path = join(folder, metric);
      const files = peftAdapterFiles(lora);
      await mkdir(path, { recursive: true });
      await writeFile(join(path, PEFT_CONFIG_FILE), files.config);
      await writeFile(join(path, PEFT_WEIGHTS_FILE), files.safetensors);
      paths[metric] = path;
    }
  }
  return paths;
}
