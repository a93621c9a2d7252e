// Hostile PEFT adapters: tensor keys of several adapter names in one file, and lora_alpha or r
// values that JSON cannot show (NaN, Infinity).

import { describe, expect, it } from "vitest";

import { peftAdapterFiles, randomLora } from "../../src/adapters/fixtures.js";
import { parsePeftConfig, readPeftAdapter } from "../../src/adapters/peft.js";
import { writeSafetensors } from "../../src/adapters/safetensors.js";
import { AdapterFormatError, InvalidInputError } from "../../src/errors.js";
import { smallConfig } from "../reference/helpers.js";

const config = smallConfig({ embeddingLength: 8, headCount: 2, headCountKV: 2, headDim: 4, ropeDimensionCount: 4, feedForwardLength: 12 });
const lora = randomLora(config, { seed: "bad-peft", rank: 2, alpha: 4 });
const files = peftAdapterFiles(lora);

const Q_PROJ = "base_model.model.model.layers.0.self_attn.q_proj";
const K_PROJ = "base_model.model.model.layers.0.self_attn.k_proj";

/** Builds a safetensors file with one rank-2 tensor per key: [2, 8] for lora_A keys, [8, 2] for lora_B keys. */
function pairFile(keys: string[]): Uint8Array {
  return writeSafetensors(
    keys.map((name) => {
      const isA = name.includes("lora_A");
      const shape = isA ? [2, 8] : [8, 2];
      return { name, dtype: "F32" as const, shape, data: new Float32Array(16).fill(0.01) };
    }),
  );
}

/** Runs `action` and returns the AdapterFormatError it throws. */
function formatErrorOf(action: () => unknown): AdapterFormatError {
  try {
    action();
  } catch (error) {
    if (error instanceof AdapterFormatError) return error;
    throw error;
  }
  throw new Error("expected an AdapterFormatError, but nothing was thrown");
}

describe("PEFT adapter names", () => {
  it("reads keys with one adapter name", () => {
    const adapter = readPeftAdapter(files.config, pairFile([`${Q_PROJ}.lora_A.default.weight`, `${Q_PROJ}.lora_B.default.weight`]), "named");
    expect([...adapter.matrices.keys()]).toEqual(["blk.0.attn_q.weight"]);
  });

  it("reads keys without an adapter name", () => {
    const adapter = readPeftAdapter(files.config, pairFile([`${Q_PROJ}.lora_A.weight`, `${Q_PROJ}.lora_B.weight`]), "plain");
    expect(adapter.matrices.size).toBe(1);
  });

  it("rejects a named and an unnamed key", () => {
    const keys = [`${Q_PROJ}.lora_A.default.weight`, `${Q_PROJ}.lora_B.default.weight`, `${K_PROJ}.lora_A.weight`, `${K_PROJ}.lora_B.weight`];
    const error = formatErrorOf(() => readPeftAdapter(files.config, pairFile(keys), "mixed"));
    expect(error.message).toContain('"default"');
    expect(error.message).toContain("no adapter name");
    expect(error.message).toContain(K_PROJ);
  });

  it("rejects two adapter names", () => {
    const keys = [`${Q_PROJ}.lora_A.default.weight`, `${Q_PROJ}.lora_B.default.weight`, `${Q_PROJ}.lora_A.other.weight`, `${Q_PROJ}.lora_B.other.weight`];
    const error = formatErrorOf(() => readPeftAdapter(files.config, pairFile(keys), "two"));
    expect(error.message).toContain('"default"');
    expect(error.message).toContain('"other"');
  });

  it("rejects one weight stored twice", () => {
    // Two prefixes that name the same projection would otherwise overwrite the first A silently.
    const keys = [`${Q_PROJ}.lora_A.weight`, "model.layers.0.self_attn.q_proj.lora_A.weight", `${Q_PROJ}.lora_B.weight`];
    const error = formatErrorOf(() => readPeftAdapter(files.config, pairFile(keys), "twice"));
    expect(error.message).toContain("second lora_A");
  });
});

describe("PEFT non-finite numbers", () => {
  const base = JSON.parse(files.config) as Record<string, unknown>;

  it.each([
    ["lora_alpha", Number.NaN, "NaN"],
    ["lora_alpha", Number.POSITIVE_INFINITY, "Infinity"],
    ["r", Number.NaN, "NaN"],
  ])("names %s = %s in a parsed config", (field, value, shown) => {
    const error = formatErrorOf(() => parsePeftConfig({ ...base, [field]: value }, "adapter_config.json"));
    expect(error.field).toBe(field);
    expect(error.message).toContain(shown);
    expect(error.message).not.toContain("null");
  });

  it("rejects a NaN user scale", () => {
    const action = (): unknown => readPeftAdapter(files.config, files.safetensors, "scaled", { scale: Number.NaN });
    expect(action).toThrow(InvalidInputError);
    expect(action).toThrow(/scale is NaN/);
  });

  it("names the field of a NaN literal in the JSON text", () => {
    // Python's json.dump writes float("nan") as the bare word NaN, which JSON.parse rejects.
    const text = files.config.replace(/"lora_alpha": \d+/, '"lora_alpha": NaN');
    const error = formatErrorOf(() => parsePeftConfig(text, "adapter_config.json"));
    expect(error.field).toBe("lora_alpha");
    expect(error.message).toContain("NaN");
  });
});
