// `tokenjudge logits MODEL.gguf TEXT`: one forward pass, then the last position's log-probabilities.

import { parseArgs } from "node:util";

import { InvalidInputError, UsageError } from "../errors.js";
import type { GGUFFile } from "../gguf/reader.js";
import { GPUContext } from "../gpu/context.js";
import { WebGPUModel } from "../gpu/model.js";
import { ReferenceModel, logSoftmax } from "../reference/index.js";
import { Tokenizer } from "../tokenizer/index.js";
import { openModel } from "./open-model.js";

export interface TokenLogProb {
  id: number;
  piece: string;
  logProb: number;
}

export async function runLogits(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      top: { type: "string", default: "10" },
      classes: { type: "string" },
      backend: { type: "string", default: "cpu" },
      json: { type: "boolean", default: false },
    },
  });
  const [model, text, extra] = positionals;
  if (text === undefined) throw new UsageError("logits", 'missing TEXT; usage: tokenjudge logits MODEL.gguf "text"');
  if (extra !== undefined) {
    throw new UsageError("logits", `unexpected argument "${extra}"; logits takes MODEL and one TEXT, so quote TEXT that contains spaces`);
  }
  const topK = Number(values.top);
  if (!Number.isInteger(topK) || topK < 1) {
    throw new UsageError("logits", `--top must be a positive integer, got "${values.top}"`);
  }
  const backend = values.backend;
  if (backend !== "cpu" && backend !== "webgpu") {
    throw new UsageError("logits", `--backend must be "cpu" or "webgpu", got "${backend}"`);
  }

  // Step 1: tokenize the text as plain content, with BOS where the model's metadata asks for it.
  const { path, file } = await openModel(model);
  const tokenizer = Tokenizer.fromGGUF(file);
  const tokens = tokenizer.encode([{ text, special: false }], { addSpecial: true });
  if (tokens.length === 0) throw new InvalidInputError("TEXT produced no tokens; pass non-empty text");

  // Step 2: prefill every token and keep the last position's logits.
  const classIds = values.classes === undefined ? undefined : resolveClassTokens(tokenizer, values.classes);
  const classTokenIds = classIds?.map((entry) => entry.id);
  const { logits, elapsedMs, device } = backend === "cpu" ? await forwardOnCPU(file, tokens, classTokenIds) : await forwardOnWebGPU(file, tokens, classTokenIds);

  // Step 3: log-softmax over the whole vocabulary, or over the class tokens only.
  const logProbs = logSoftmax(logits);
  let ranked: TokenLogProb[];
  if (classIds) {
    ranked = classIds.map((entry, i) => ({ id: entry.id, piece: entry.label, logProb: logProbs[i]! }));
  } else {
    ranked = topTokens(logProbs, topK).map((id) => ({ id, piece: tokenizer.tokenToPiece(id), logProb: logProbs[id]! }));
  }

  if (values.json) {
    process.stdout.write(JSON.stringify({ model: path, backend, device, tokens: tokens.length, elapsedMs, top: ranked }) + "\n");
  } else {
    process.stdout.write(`${path}: ${tokens.length} tokens, forward pass ${elapsedMs.toFixed(1)} ms (${device})\n`);
    for (const entry of ranked) {
      const prob = Math.exp(entry.logProb);
      process.stdout.write(
        `${String(entry.id).padStart(7)}  ${entry.logProb.toFixed(4).padStart(9)}  ${(prob * 100).toFixed(2).padStart(6)}%  ${JSON.stringify(entry.piece)}\n`,
      );
    }
  }
  return 0;
}

interface ForwardOutcome {
  logits: Float32Array;
  elapsedMs: number;
  device: string;
}

async function forwardOnCPU(file: GGUFFile, tokens: number[], classTokenIds: number[] | undefined): Promise<ForwardOutcome> {
  const reference = await ReferenceModel.load(file);
  const started = performance.now();
  const { logits } = reference.forward(tokens, { classTokenIds });
  return { logits, elapsedMs: performance.now() - started, device: "cpu, float32 reference" };
}

async function forwardOnWebGPU(file: GGUFFile, tokens: number[], classTokenIds: number[] | undefined): Promise<ForwardOutcome> {
  const context = await GPUContext.create();
  try {
    const model = await WebGPUModel.load(file, { context });
    const started = performance.now();
    const { logits } = await model.forward(tokens, { classTokenIds });
    const elapsedMs = performance.now() - started;
    model.dispose();

    const info = context.adapterInfo;
    const adapter = [info.vendor, info.architecture, info.description].filter((part) => part).join(" ") || "unknown adapter";
    return { logits, elapsedMs, device: `webgpu, ${adapter}${context.isSoftwareAdapter ? " (software adapter)" : ""}` };
  } finally {
    context.dispose();
  }
}

/** Returns the ids of the `k` largest values, largest first. */
export function topTokens(values: Float32Array, k: number): number[] {
  const ids = Array.from({ length: values.length }, (_, i) => i);
  ids.sort((a, b) => values[b]! - values[a]!);
  return ids.slice(0, k);
}

/** Maps each comma-separated label to the first token of its plain-text encoding. */
function resolveClassTokens(tokenizer: Tokenizer, list: string): { label: string; id: number }[] {
  const labels = list.split(",").map((label) => label.trim()).filter((label) => label.length > 0);
  if (labels.length < 2) throw new InvalidInputError(`--classes needs at least two labels, got "${list}"`);

  const seen = new Map<number, string>();
  return labels.map((label) => {
    const id = tokenizer.encodeText(label)[0];
    if (id === undefined) throw new InvalidInputError(`class label "${label}" produced no tokens`);
    const clash = seen.get(id);
    if (clash !== undefined) {
      throw new InvalidInputError(`class labels "${clash}" and "${label}" start with the same token ${id}; choose labels whose first tokens differ`);
    }
    seen.set(id, label);
    return { label, id };
  });
}
