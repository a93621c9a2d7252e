// Call handling that both worker clients share, client.ts for the runtime and judge-client.ts for
// the judge. AbortSignals become `abort(id)` messages. A worker `error` or `messageerror` event
// rejects every pending and later call with WorkerCrashedError and terminates the worker.

import type * as Comlink from "comlink";
import { AbortError } from "../errors.js";
import { WorkerCrashedError } from "../runtime/errors.js";

/** The parts of a `Worker` the clients use; tests pass a stand-in built on a MessageChannel. */
export interface WorkerLike extends Comlink.Endpoint {
  terminate(): void;
}

export interface WorkerCallOptions {
  /** Sends `abort(abortId)` to the worker. */
  abort(abortId: number): Promise<unknown>;
  /** Builds the crash message from the event's description, naming what the caller should create instead. */
  crashMessage(detail: string): string;
}

export interface WorkerCalls {
  /**
   * Runs `call` with a fresh abort id when `signal` is given. Rejects with `AbortError` as soon as
   * `signal` aborts, and with WorkerCrashedError when the worker fails or was closed.
   */
  invoke<T>(signal: AbortSignal | undefined, call: (abortId: number | undefined) => Promise<T>): Promise<T>;
  /** Rejects pending and later calls with `error` and terminates the worker. Only the first call has an effect. */
  close(error: WorkerCrashedError): void;
  /** True once the worker failed or was closed. */
  readonly closed: boolean;
}

/** Describes a worker `error` or `messageerror` event for the crash message. */
function describeWorkerEvent(event: Event): string {
  const errorEvent = event as Partial<ErrorEvent>;
  if (errorEvent.message) {
    const where = errorEvent.filename ? ` at ${errorEvent.filename}:${errorEvent.lineno ?? 0}` : "";
    return `${errorEvent.message}${where}`;
  }
  return `${event.type} event without a message (the worker script may have failed to load)`;
}

/** Watches `worker` for failures and returns the call wrapper for its comlink remote. */
export function watchWorker(worker: WorkerLike, options: WorkerCallOptions): WorkerCalls {
  let failure: WorkerCrashedError | undefined;
  let rejectPending: (error: WorkerCrashedError) => void = () => undefined;
  const crashed = new Promise<never>((_, reject) => {
    rejectPending = reject;
  });
  crashed.catch(() => undefined);

  const close = (error: WorkerCrashedError): void => {
    if (failure) return;
    failure = error;
    rejectPending(error);
    worker.removeEventListener("error", onError);
    worker.removeEventListener("messageerror", onError);
    worker.terminate();
  };

  const onError = (event: Event): void => {
    event.preventDefault?.();
    const detail = describeWorkerEvent(event);
    close(new WorkerCrashedError(options.crashMessage(detail), detail));
  };
  worker.addEventListener("error", onError);
  worker.addEventListener("messageerror", onError);

  let nextAbortId = 1;

  const invoke = async <T>(signal: AbortSignal | undefined, call: (abortId: number | undefined) => Promise<T>): Promise<T> => {
    if (failure) throw failure;
    if (signal?.aborted) throw new AbortError();

    const abortId = signal ? nextAbortId++ : undefined;
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      if (!signal || abortId === undefined) return;
      onAbort = () => {
        options.abort(abortId).catch(() => undefined);
        reject(new AbortError());
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });
    aborted.catch(() => undefined);

    try {
      return await Promise.race([call(abortId), crashed, aborted]);
    } finally {
      if (onAbort) signal?.removeEventListener("abort", onAbort);
    }
  };

  return {
    invoke,
    close,
    get closed() {
      return failure !== undefined;
    },
  };
}
