// The worker side of the judge: runs a `Judge` and adapts it to the comlink-facing JudgeWorkerApi.
// Abort ids become AbortSignals and the progress proxy becomes a callback.

import * as Comlink from "comlink";
import { InvalidInputError } from "../errors.js";
import { GGUFFile } from "../gguf/reader.js";
import { BlobSource } from "../io/blob.js";
import { MemorySource } from "../io/memory.js";
import { Judge } from "../metrics/judge.js";
import type { LoadProgress } from "../runtime/progress.js";
import type { JudgeModelSource, JudgeWorkerApi, WireJudgeOptions, WireJudgeProgressCallback } from "./judge-protocol.js";

type ReleasableCallback = ((progress: LoadProgress) => unknown) & { [Comlink.releaseProxy]?: () => void };

/** Returns the API the judge worker entry exposes. It keeps at most one judge, and `create` replaces it. */
export function createJudgeWorkerApi(): JudgeWorkerApi {
  const controllers = new Map<number, AbortController>();
  let judge: Judge | undefined;

  // Registered synchronously when the call arrives, so an abort message sent after the call
  // (messages on one port arrive in order) always finds its controller.
  const withSignal = async <T>(abortId: number | undefined, run: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> => {
    if (abortId === undefined) return run(undefined);

    const controller = new AbortController();
    controllers.set(abortId, controller);
    try {
      return await run(controller.signal);
    } finally {
      controllers.delete(abortId);
    }
  };

  const requireJudge = (call: string): Judge => {
    if (judge === undefined) throw new InvalidInputError(`judge worker: ${call} was called before create(); create the judge first`);
    return judge;
  };

  return {
    create(options: WireJudgeOptions, progressProxy?: WireJudgeProgressCallback) {
      const remoteCallback = progressProxy as ReleasableCallback | undefined;
      const onProgress = remoteCallback
        ? (progress: LoadProgress): void => {
            // A progress report is best effort: a closed port must not fail the load.
            Promise.resolve(remoteCallback(progress)).catch(() => undefined);
          }
        : undefined;

      return withSignal(options.abortId, async (signal) => {
        const model = await openModel(options.model, signal);
        const created = await Judge.create({
          model,
          backend: options.backend,
          metrics: options.metrics,
          chatTemplate: options.chatTemplate,
          adapters: options.adapters,
          onProgress,
          signal,
        });
        judge?.dispose();
        judge = created;
        return created.metricIds;
      }).finally(() => {
        remoteCallback?.[Comlink.releaseProxy]?.();
      });
    },

    register(definition, options) {
      return withSignal(options.abortId, async (signal) => {
        const current = requireJudge("register");
        await current.register(definition, { adapter: options.adapter, signal });
        return current.metricIds;
      });
    },

    evaluate(content, options) {
      return withSignal(options.abortId, (signal) => requireJudge("evaluate").evaluate(content, { metrics: options.metrics, signal }));
    },

    async renderPrompt(content, id) {
      return requireJudge("renderPrompt").renderPrompt(content, id);
    },

    abort(abortId) {
      controllers.get(abortId)?.abort();
    },

    async dispose() {
      judge?.dispose();
      judge = undefined;
    },
  };
}

/** Opens the model for Judge.create: a path stays a path (Node opens and closes it), a Blob or bytes become a GGUFFile. */
async function openModel(source: JudgeModelSource, signal: AbortSignal | undefined): Promise<GGUFFile | string> {
  if ("path" in source) return source.path;
  if ("blob" in source) return GGUFFile.open(new BlobSource(source.blob, source.name), { signal });
  return GGUFFile.open(new MemorySource(source.name ?? "<bytes>", source.bytes), { signal });
}
