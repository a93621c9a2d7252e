// The bench models: random weights from a fixed seed in SmolLM2-135M's shapes (llama architecture,
// n_embd 576, 30 blocks, 9 query heads, 3 KV heads, n_ff 1536, 49,152 tokens, tied output), one
// file per weight type. They are generated into the git-ignored fixtures/ folder on first use and
// regenerated when the spec or the generator changes, as recorded in a JSON sidecar.

import { existsSync } from "node:fs";
import { mkdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";

import { InvalidInputError } from "../errors.js";
import { DEFAULT_FIXTURE_DIR } from "../fixtures/registry.js";
import { FIXTURE_GENERATOR_VERSION, type SyntheticModelSpec } from "../fixtures/spec.js";
import { buildSyntheticModel } from "../fixtures/synthetic.js";
import { writeGGUFFile } from "../gguf/write-file.js";
import { GGMLType } from "../gguf/types.js";
import { CUT_VOCABULARY_VERSION, loadCutLlama3Vocabulary, SMOLLM2_VOCAB_SIZE, type CutVocabulary } from "./vocabulary.js";

/** Weight types of the bench models. Every matrix of a model, token_embd included, has its type. */
export const BENCH_QUANTS = ["q8_0", "q4_0"] as const;
export type BenchQuant = (typeof BENCH_QUANTS)[number];

const QUANT_TYPES: Record<BenchQuant, GGMLType> = {
  q8_0: GGMLType.Q8_0,
  q4_0: GGMLType.Q4_0,
};

/** SmolLM2-135M's hyperparameters, as in config.json of HuggingFaceTB/SmolLM2-135M-Instruct on the Hugging Face Hub. */
export const SMOLLM2_135M_SHAPE = {
  architecture: "llama",
  nEmbd: 576,
  nLayer: 30,
  nHead: 9,
  nHeadKv: 3,
  headDim: 64,
  nFf: 1536,
  contextLength: 8192,
  ropeBase: 100000,
  rmsEps: 1e-5,
  tiedOutput: true,
} as const;

/** A bench model: its file name, spec and vocabulary size. */
export interface BenchModelDefinition {
  /** File stem under the fixture folder, such as "bench-smollm2-135m-q8_0". */
  name: string;
  quant: BenchQuant;
  spec: SyntheticModelSpec;
  vocabSize: number;
}

/** Returns the definition of the SmolLM2-135M-shaped model with every matrix in `quant`. */
export function benchModelDefinition(quant: BenchQuant): BenchModelDefinition {
  const weightType = QUANT_TYPES[quant];
  if (weightType === undefined) {
    throw new InvalidInputError(`unknown bench model quantization "${String(quant)}"; use one of ${BENCH_QUANTS.join(", ")}`);
  }
  return {
    name: `bench-smollm2-135m-${quant}`,
    quant,
    // `vocabulary` is only nominal here: the builder receives the cut vocabulary directly.
    spec: { ...SMOLLM2_135M_SHAPE, vocabulary: "llama3-bpe", preTokenizer: "smollm", seed: 135_000 + weightType, weightType },
    vocabSize: SMOLLM2_VOCAB_SIZE,
  };
}

interface BenchSidecar {
  generatorVersion: number;
  vocabularyVersion: number;
  spec: SyntheticModelSpec;
  vocabSize: number;
  bytes: number;
}

export interface EnsureBenchModelOptions {
  /** Folder of the generated files, the repository's fixtures/ folder by default. */
  dir?: string;
  /** The cut vocabulary, when the caller loaded it already. */
  vocabulary?: CutVocabulary;
  /** Called with a line of text before a file is generated, because generation takes a while. */
  log?: (line: string) => void;
}

/** Returns the path of `definition`'s GGUF file, generating it first when it is missing or stale. */
export async function ensureBenchModel(definition: BenchModelDefinition, options: EnsureBenchModelOptions = {}): Promise<string> {
  const dir = options.dir ?? DEFAULT_FIXTURE_DIR;
  const path = join(dir, `${definition.name}.gguf`);
  const sidecarPath = `${path}.json`;
  if (await isCurrent(path, sidecarPath, definition)) return path;

  options.log?.(`generating ${path} (${definition.spec.nLayer} blocks, vocabulary ${definition.vocabSize}, seed ${definition.spec.seed})`);
  await mkdir(dir, { recursive: true });
  const vocabulary = options.vocabulary ?? (await loadCutLlama3Vocabulary({ size: definition.vocabSize }));
  const input = await buildSyntheticModel(definition.spec, { name: definition.name, vocabulary: vocabulary.metadata });

  // A temporary name and a rename keep an interrupted run from leaving a truncated file behind.
  const temporaryPath = `${path}.${process.pid}.tmp`;
  await writeGGUFFile(temporaryPath, input);
  await rename(temporaryPath, path);

  const sidecar: BenchSidecar = { generatorVersion: FIXTURE_GENERATOR_VERSION, vocabularyVersion: CUT_VOCABULARY_VERSION, spec: definition.spec, vocabSize: definition.vocabSize, bytes: (await stat(path)).size };
  await writeFile(sidecarPath, `${JSON.stringify(sidecar, null, 2)}\n`);
  return path;
}

async function isCurrent(path: string, sidecarPath: string, definition: BenchModelDefinition): Promise<boolean> {
  if (!existsSync(path) || !existsSync(sidecarPath)) return false;
  try {
    const sidecar = JSON.parse(await readFile(sidecarPath, "utf8")) as BenchSidecar;
    return (
      sidecar.generatorVersion === FIXTURE_GENERATOR_VERSION &&
      sidecar.vocabularyVersion === CUT_VOCABULARY_VERSION &&
      sidecar.vocabSize === definition.vocabSize &&
      JSON.stringify(sidecar.spec) === JSON.stringify(definition.spec) &&
      sidecar.bytes === (await stat(path)).size
    );
  } catch {
    // A malformed sidecar means the file is generated again.
    return false;
  }
}
