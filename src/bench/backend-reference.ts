// The float32 TypeScript reference forward pass (src/reference) as a bench backend.

import { GGUFFile } from "../gguf/reader.js";
import { openFileSource } from "../io/node-file.js";
import { ReferenceModel } from "../reference/index.js";
import type { PrefillBackend } from "./backend.js";
import { argmax } from "./timing.js";

/** Loads `path` into the reference model. The load time covers reading and dequantizing every weight. */
export async function loadReferenceBackend(path: string): Promise<PrefillBackend> {
  const source = await openFileSource(path);
  try {
    const start = performance.now();
    const file = await GGUFFile.open(source);
    const model = await ReferenceModel.load(file);
    const loadMs = performance.now() - start;

    return {
      name: "reference",
      settings: "float32 on one CPU thread",
      loadMs,
      weightBytes: undefined,
      prefill: async (tokens) => argmax(model.forward(tokens).logits),
      dispose: async () => undefined,
    };
  } finally {
    await source.close?.();
  }
}
