// Classic LoRA on the reference forward pass vs llama.cpp (node-llama-cpp 3.21.1, CPU) with the
// same adapter written as a GGUF LoRA file, on small random F32 models.

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, describe, expect, it } from "vitest";

import { LoraReferenceModel } from "../../src/adapters/forward.js";
import { sha256Hex } from "../../src/adapters/sha256.js";
import { ensureFixture } from "../../src/fixtures/registry.js";
import { TOXICITY } from "../../src/metrics/builtins.js";
import type { MetricDefinition } from "../../src/metrics/definition.js";
import { Judge } from "../../src/metrics/judge.js";
import { ggufLoraAdapterInput, randomLora } from "../../src/adapters/fixtures.js";
import { readGGUFLoraAdapter } from "../../src/adapters/gguf-lora.js";
import { validateAdapterForModel } from "../../src/adapters/validate.js";
import { GGUFFile } from "../../src/gguf/reader.js";
import { writeGGUF } from "../../src/gguf/writer.js";
import { MemorySource } from "../../src/io/memory.js";
import type { ModelConfig } from "../../src/model/config.js";
import { LlamaCppOracle } from "../../src/oracle/llama-cpp.js";
import { logSoftmax } from "../../src/reference/index.js";
import { encodeModelAsGGUF } from "../reference/gguf-model.js";
import { randomWeights, smallConfig } from "../reference/helpers.js";

const SMALL: Partial<ModelConfig> = { embeddingLength: 64, headCount: 4, headCountKV: 2, headDim: 16, ropeDimensionCount: 16, feedForwardLength: 128, vocabSize: 320, contextLength: 256 };

// F32 weights on both sides: class log-probabilities must agree within 1e-3. The llama case
// differed by about 2e-6 at most over the whole vocabulary (x86-64 CPU, llama.cpp via node-llama-cpp 3.21.1).
const TOLERANCE = 1e-3;
const CLASS_TOKENS = [40, 41, 200];
const TOKENS = [1, ...Array.from({ length: 30 }, (_, i) => 3 + ((i * 53) % 300))];

const cases: { name: string; config: ModelConfig; biases?: boolean; useRslora?: boolean; scale: number }[] = [
  { name: "llama", config: smallConfig(SMALL), scale: 1 },
  { name: "llama rsLoRA scale 0.5", config: smallConfig(SMALL), useRslora: true, scale: 0.5 },
  { name: "qwen2 biases", config: smallConfig({ ...SMALL, architecture: "qwen2", ropeStyle: "neox", ropeFreqBase: 1e6 }), biases: true, scale: 1 },
];

describe("classic LoRA vs llama.cpp", () => {
  const directory = mkdtempSync(join(tmpdir(), "tokenjudge-lora-"));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  for (const { name, config, biases, useRslora, scale } of cases) {
    it(name, async () => {
      const weights = randomWeights(config, `lora ${name}`, { biases });
      const modelPath = join(directory, `${name.replace(/\W+/g, "-")}.gguf`);
      writeFileSync(modelPath, encodeModelAsGGUF(config, weights));

      const adapterBytes = writeGGUF(ggufLoraAdapterInput(randomLora(config, { seed: name, rank: 8, alpha: 16, useRslora }), config.architecture));
      const adapterPath = join(directory, `${name.replace(/\W+/g, "-")}.lora.gguf`);
      writeFileSync(adapterPath, adapterBytes);

      const adapter = await readGGUFLoraAdapter(await GGUFFile.open(new MemorySource(adapterPath, adapterBytes)), { scale });
      validateAdapterForModel(adapter, config);
      const model = new LoraReferenceModel(config, weights);
      const ours = logSoftmax(model.forward(TOKENS, { adapter }).logits);
      const base = logSoftmax(model.forward(TOKENS).logits);

      const oracle = await LlamaCppOracle.load(modelPath, { lora: [{ path: adapterPath, scale }], contextSize: 256 });
      try {
        const probabilities = await oracle.lastTokenProbabilities(TOKENS);
        expect(probabilities.size).toBe(config.vocabSize);

        let maxShift = 0;
        for (const id of CLASS_TOKENS) {
          const theirs = Math.log(probabilities.get(id)!);
          expect(Math.abs(ours[id]! - theirs), `token ${id}`).toBeLessThanOrEqual(TOLERANCE);
          maxShift = Math.max(maxShift, Math.abs(base[id]! - theirs));
        }
        // llama.cpp applied the adapter: its output is far from the base model's.
        expect(maxShift).toBeGreaterThan(0.05);

        // The 20 most likely tokens agree as well.
        for (const [id, probability] of [...probabilities].slice(0, 20)) {
          expect(Math.abs(ours[id]! - Math.log(probability)), `top token ${id}`).toBeLessThanOrEqual(TOLERANCE);
        }
      } finally {
        await oracle.dispose();
      }
    });
  }
});

describe("classic LoRA metric vs llama.cpp", () => {
  const directory = mkdtempSync(join(tmpdir(), "tokenjudge-lora-metric-"));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it("agrees on the metric prompt of llama-f32", async () => {
    const modelPath = await ensureFixture("llama-f32");
    const probe = await Judge.create({ model: modelPath, backend: "cpu", metrics: [] });
    const adapterBytes = writeGGUF(ggufLoraAdapterInput(randomLora(probe.model.config, { seed: "metric", rank: 4 }), "llama"));
    const adapterPath = join(directory, "toxicity.lora.gguf");
    writeFileSync(adapterPath, adapterBytes);

    const metric: MetricDefinition = { ...TOXICITY, id: "toxicity-lora", adapter: { file: adapterPath, sha256: await sha256Hex(adapterBytes), mode: "classic", format: "gguf" } };
    const judge = await Judge.create({ model: modelPath, backend: "cpu", metrics: [metric, TOXICITY] });
    const content = { input: "You are the worst, nobody likes you." };
    const [result, base] = await judge.evaluate(content);
    const prompt = judge.renderPrompt(content, metric.id);

    const oracle = await LlamaCppOracle.load(modelPath, { lora: [{ path: adapterPath, scale: 1 }], contextSize: 256 });
    try {
      const probabilities = await oracle.lastTokenProbabilities([...prompt.contentTokens, ...prompt.suffixTokens]);
      // Class probabilities from llama.cpp's full-vocabulary softmax, renormalized over the two labels.
      const ids = [judge.tokenizer.encodeText(" Yes")[0]!, judge.tokenizer.encodeText(" No")[0]!];
      const theirs = ids.map((id) => probabilities.get(id)!);
      const total = theirs[0]! + theirs[1]!;
      expect(Math.abs(Math.log(result!.probabilities.toxic!) - Math.log(theirs[0]! / total))).toBeLessThanOrEqual(TOLERANCE);
      expect(Math.abs(Math.log(result!.probabilities.not_toxic!) - Math.log(theirs[1]! / total))).toBeLessThanOrEqual(TOLERANCE);
      expect(Math.abs(result!.probabilities.toxic! - base!.probabilities.toxic!)).toBeGreaterThan(0.01);
    } finally {
      await oracle.dispose();
    }
  });
});
