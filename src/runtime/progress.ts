// Load progress: a union keyed on `status` with byte (or item) counts, and a reporter that keeps
// the reported sequence monotonic so a progress bar never jumps back.

/**
 * One progress report while a model loads.
 * - `download`: the GGUF header (metadata and tensor table) read from the source, in bytes.
 * - `upload`: tensor data read from the source and written to GPU buffers, in bytes.
 * - `compile`: compute pipelines created, counted in pipelines.
 * - `ready`: the model can run; `loaded === total`.
 */
export type LoadProgress = {
  status: LoadStatus;
  loaded: number;
  total: number;
  /** Milliseconds since the load started. */
  elapsedMs: number;
};

export type LoadStatus = "download" | "upload" | "compile" | "ready";

/** Stage order: a report for an earlier stage than the last one sent is dropped. */
export const LOAD_STAGES: readonly LoadStatus[] = ["download", "upload", "compile", "ready"];

export type ProgressCallback = (progress: LoadProgress) => void;

export interface ProgressReporter {
  /**
   * Sends a report unless it would move backwards: an earlier stage than the last report, or the
   * same stage with fewer `loaded` units. `loaded` is clamped to `[0, total]`.
   */
  report(status: LoadStatus, loaded: number, total: number): void;
  /** Sends the final `ready` report (once; later calls do nothing). */
  ready(): void;
  /** The last report sent, or undefined before the first one. */
  readonly last: LoadProgress | undefined;
}

/**
 * Creates a reporter that forwards monotonic reports to `callback`. `now` returns milliseconds and
 * defaults to `performance.now`; tests pass a fake clock.
 */
export function createProgressReporter(
  callback: ProgressCallback | undefined,
  now: () => number = () => performance.now(),
): ProgressReporter {
  const startedAt = now();
  let last: LoadProgress | undefined;

  const send = (status: LoadStatus, loaded: number, total: number): void => {
    const safeTotal = Number.isFinite(total) && total > 0 ? total : 0;
    const clamped = Math.min(Math.max(Number.isFinite(loaded) ? loaded : 0, 0), safeTotal);

    if (last) {
      const lastStage = LOAD_STAGES.indexOf(last.status);
      const stage = LOAD_STAGES.indexOf(status);
      if (stage < lastStage) return;
      if (stage === lastStage && clamped < last.loaded) return;
      if (last.status === "ready") return;
    }

    const elapsedMs = Math.max(now() - startedAt, last?.elapsedMs ?? 0);
    last = { status, loaded: clamped, total: safeTotal, elapsedMs };
    callback?.(last);
  };

  return {
    report: send,
    ready: () => send("ready", 1, 1),
    get last() {
      return last;
    },
  };
}
