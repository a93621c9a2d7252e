// Resolves a MODEL argument (a GGUF path, or "demo") to an open GGUF file.

import { existsSync } from "node:fs";

import { InvalidInputError } from "../errors.js";
import { DEFAULT_DEMO_FIXTURE, ensureFixture } from "../fixtures/registry.js";
import { GGUFFile } from "../gguf/reader.js";
import { openFileSource } from "../io/node-file.js";

export const DEMO_MODEL_NAME = "demo";

/** Returns the path of MODEL, generating the demo model first when MODEL is "demo". */
export async function resolveModelPath(model: string | undefined): Promise<string> {
  if (model === undefined || model === "") {
    throw new InvalidInputError('missing MODEL: pass the path of a .gguf file, or "demo" for the built-in demo model');
  }
  if (model === DEMO_MODEL_NAME && !existsSync(model)) {
    return ensureFixture(DEFAULT_DEMO_FIXTURE, {
      onGenerate: (path) => process.stderr.write(`generating the demo model into ${path} (first use, about 10 to 30 seconds)\n`),
    });
  }
  if (!existsSync(model)) {
    throw new InvalidInputError(`model file not found: ${model}; pass the path of a .gguf file, or "demo"`);
  }
  return model;
}

/** Opens MODEL for reading; the caller closes `file.source` when done. */
export async function openModel(model: string | undefined): Promise<{ path: string; file: GGUFFile }> {
  const path = await resolveModelPath(model);
  const source = await openFileSource(path);
  try {
    return { path, file: await GGUFFile.open(source) };
  } catch (error) {
    await source.close?.();
    throw error;
  }
}
