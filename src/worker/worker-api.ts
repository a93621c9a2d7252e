// Adapts a TokenjudgeRuntime to the comlink-facing WorkerApi: abort ids become AbortSignals,
// the progress proxy becomes a callback, and result arrays are transferred instead of copied.

import * as Comlink from "comlink";
import type { LoadProgress } from "../runtime/progress.js";
import type { TokenjudgeRuntime } from "../runtime/types.js";
import type { WireLoadOptions, WireLogitsOptions, WireProgressCallback, WorkerApi } from "./protocol.js";

type ReleasableCallback = ((progress: LoadProgress) => unknown) & { [Comlink.releaseProxy]?: () => void };

/** Wraps `runtime` in the API the worker entry exposes. */
export function createWorkerApi(runtime: TokenjudgeRuntime): WorkerApi {
  const controllers = new Map<number, AbortController>();

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

  return {
    loadModel(source, options: WireLoadOptions, progressProxy?: WireProgressCallback) {
      const remoteCallback = progressProxy as ReleasableCallback | undefined;
      const onProgress = remoteCallback
        ? (progress: LoadProgress): void => {
            // A progress report is best effort: a closed port must not fail the load.
            Promise.resolve(remoteCallback(progress)).catch(() => undefined);
          }
        : undefined;

      return withSignal(options.abortId, (signal) => runtime.loadModel(source, { onProgress, signal })).finally(() => {
        remoteCallback?.[Comlink.releaseProxy]?.();
      });
    },

    logits(tokens, options: WireLogitsOptions) {
      return withSignal(options.abortId, async (signal) => {
        const result = await runtime.logits(tokens, { classTokenIds: options.classTokenIds, topK: options.topK, activationRounding: options.activationRounding, signal });
        return Comlink.transfer(result, [result.logits.buffer, result.logProbs.buffer]);
      });
    },

    info: () => runtime.info(),

    abort(abortId) {
      controllers.get(abortId)?.abort();
    },

    dispose: () => runtime.dispose(),
  };
}
