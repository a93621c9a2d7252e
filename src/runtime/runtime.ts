// The in-thread runtime: one GPU context, at most one model. The worker exposes this same object
// through comlink, so `createRuntime()` and `createWorkerRuntime()` share the TokenjudgeRuntime
// interface.

import { InvalidInputError, throwIfAborted } from "../errors.js";
import { GGUFFile } from "../gguf/reader.js";
import { GPUContext } from "../gpu/context.js";
import { WebGPUModel } from "../gpu/model.js";
import { BlobSource } from "../io/blob.js";
import { HttpRangeSource } from "../io/http.js";
import { MemorySource } from "../io/memory.js";
import type { ByteSource } from "../io/source.js";
import type { ModelConfig } from "../model/config.js";
import { createProgressReporter } from "./progress.js";
import { logSoftmax, topTokens } from "./scores.js";
import type { LoadModelOptions, LogitsOptions, LogitsResult, ModelSource, RuntimeInfo, TokenjudgeRuntime } from "./types.js";

export interface RuntimeOptions {
  /** Passed to `GPUContext.create`. */
  powerPreference?: GPUPowerPreference;
}

/** Opens the byte source a `ModelSource` describes. */
export async function openModelSource(source: ModelSource, signal?: AbortSignal): Promise<ByteSource> {
  if ("url" in source) return HttpRangeSource.open(source.url, { signal });
  if ("blob" in source) return new BlobSource(source.blob, source.name);
  if ("bytes" in source) return new MemorySource(source.name ?? "<memory>", source.bytes);
  throw new InvalidInputError("loadModel: the source must be { url }, { blob } or { bytes }");
}

function checkTokens(tokens: number[], vocabSize: number): void {
  if (!Array.isArray(tokens) || tokens.length === 0) {
    throw new InvalidInputError("logits: tokens must be a non-empty array of token ids");
  }
  for (const [i, token] of tokens.entries()) {
    if (!Number.isInteger(token) || token < 0 || token >= vocabSize) {
      throw new InvalidInputError(`logits: tokens[${i}] = ${token} is not a token id of this model (0..${vocabSize - 1})`);
    }
  }
}

class Runtime implements TokenjudgeRuntime {
  private context: GPUContext | undefined;
  private model: WebGPUModel | undefined;
  private disposed = false;

  constructor(private readonly options: RuntimeOptions) {}

  private async ensureContext(): Promise<GPUContext> {
    if (this.disposed) throw new InvalidInputError("this runtime was disposed; create a new one");
    if (!this.context || this.context.isLost) {
      this.context = await GPUContext.create(this.options.powerPreference ? { powerPreference: this.options.powerPreference } : {});
    }
    return this.context;
  }

  async loadModel(source: ModelSource, options: LoadModelOptions = {}): Promise<ModelConfig> {
    const reporter = createProgressReporter(options.onProgress);
    const context = await this.ensureContext();

    this.model?.dispose();
    this.model = undefined;

    // The source is closed once the weights are on the GPU, because the model never reads it again.
    const byteSource = await openModelSource(source, options.signal);
    try {
      const file = await GGUFFile.open(byteSource, { signal: options.signal });
      reporter.report("download", file.tensorDataOffset, file.tensorDataOffset);
      throwIfAborted(options.signal);

      this.model = await WebGPUModel.load(file, { context, progress: reporter, signal: options.signal });
    } finally {
      await byteSource.close?.();
    }
    reporter.ready();
    return this.model.config;
  }

  async logits(tokens: number[], options: LogitsOptions = {}): Promise<LogitsResult> {
    const model = this.model;
    if (!model) throw new InvalidInputError("logits: no model is loaded; call loadModel() first");
    checkTokens(tokens, model.config.vocabSize);
    throwIfAborted(options.signal);

    const classTokenIds = options.classTokenIds;
    if (classTokenIds) checkTokens(classTokenIds, model.config.vocabSize);

    const { logits } = await model.forward(tokens, { classTokenIds, signal: options.signal, activationRounding: options.activationRounding ?? "none" });
    const logProbs = logSoftmax(logits);
    return { logits, logProbs, top: topTokens(logits, logProbs, options.topK ?? 0, classTokenIds) };
  }

  async info(): Promise<RuntimeInfo> {
    const context = await this.ensureContext();
    const info = context.adapterInfo;
    const features = Object.entries(context.features)
      .filter(([, enabled]) => enabled)
      .map(([name]) => name);

    return {
      adapter: { vendor: info.vendor, architecture: info.architecture, device: info.device, description: info.description },
      features,
      isSoftwareAdapter: context.isSoftwareAdapter,
      model: this.model?.config,
    };
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    this.model?.dispose();
    this.model = undefined;
    this.context?.dispose();
    this.context = undefined;
  }
}

/** Creates a runtime that runs on the calling thread. The GPU device is created on first use. */
export function createRuntime(options: RuntimeOptions = {}): TokenjudgeRuntime {
  return new Runtime(options);
}
