import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { meta } from "../../src/gguf/metadata.js";
import { tokenizerCorpus } from "../../src/oracle/tokenizer-corpus.js";
import {
  compareTokenizerWithLlamaCpp,
  HF_TOKENIZER_PACKAGES,
  writeVocabOnlyGGUF,
  type TokenizerParityResult,
} from "../../src/oracle/tokenizer-parity.js";
import { HAS_LLAMA2, LLAMA2_PATH, packageMetadata } from "./fixtures.js";

const corpus = tokenizerCorpus();
let dir = "";

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tokenjudge-tokenizer-"));
});

afterAll(() => {
  if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

function report(result: TokenizerParityResult): string {
  return result.examples
    .map((example) => `${JSON.stringify(example.text)} special=${example.special}\n  llama.cpp: ${JSON.stringify(example.expected)}\n  ours:      ${JSON.stringify(example.actual)}`)
    .join("\n");
}

describe("tokenizer parity with llama.cpp", () => {
  it("corpus has at least 300 strings", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(300);
  });

  it.skipIf(!HAS_LLAMA2)("Llama 2 SentencePiece vocabulary", async () => {
    const result = await compareTokenizerWithLlamaCpp(LLAMA2_PATH, corpus);
    expect(result.cases).toBe(corpus.length * 2);
    expect(result.mismatches, report(result)).toBe(0);
  });

  for (const name of ["llama3", "qwen3"] as const) {
    it(`${name} byte-level BPE vocabulary`, async () => {
      const path = join(dir, `${name}.gguf`);
      await writeVocabOnlyGGUF(path, await packageMetadata(name), HF_TOKENIZER_PACKAGES[name].architecture);

      const result = await compareTokenizerWithLlamaCpp(path, corpus);
      expect(result.cases).toBe(corpus.length * 2);
      expect(result.mismatches, report(result)).toBe(0);
    });
  }

  // The smollm, default and gpt-2 pre-tokenizers have no vocabulary of their own here, so they run
  // on the Qwen3 vocabulary with the pre-tokenizer name swapped, which llama.cpp accepts as well.
  for (const pre of ["smollm", "default", "gpt-2"]) {
    it(`pre-tokenizer "${pre}" on the Qwen3 vocabulary`, async () => {
      const metadata = new Map(await packageMetadata("qwen3"));
      metadata.set("tokenizer.ggml.pre", meta.str(pre));
      const path = join(dir, `qwen3-${pre}.gguf`);
      await writeVocabOnlyGGUF(path, metadata, "qwen3");

      const result = await compareTokenizerWithLlamaCpp(path, corpus);
      expect(result.mismatches, report(result)).toBe(0);
    });
  }
});
