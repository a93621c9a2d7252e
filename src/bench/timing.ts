// Timing helpers: warm-up plus the median of repeated runs, and seeded prompt token ids.

import { InvalidInputError } from "../errors.js";
import { Random } from "../fixtures/random.js";

/** Repetitions of one measurement. */
export interface RunCounts {
  /** Untimed runs first, so compilation and first-touch allocation stay out of the samples. */
  warmup: number;
  /** Max timed runs. The median of the runs taken is reported. */
  runs: number;
  /** Once the timed runs add up to this many milliseconds, no further run starts. At least one run is always timed. */
  budgetMs?: number;
}

export interface Measurement<T> {
  /** Milliseconds of each timed run, in run order. */
  samplesMs: number[];
  medianMs: number;
  /** The value the last run returned. */
  lastResult: T;
}

/** Returns the median of `values`: the middle value, or the mean of the two middle values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new InvalidInputError("median: the list of samples is empty; take at least one run");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * Runs `task` `counts.warmup` times untimed, then up to `counts.runs` times timed with
 * performance.now(), stopping early once the timed runs exceed `counts.budgetMs`.
 */
export async function measure<T>(task: () => Promise<T>, counts: RunCounts): Promise<Measurement<T>> {
  if (!Number.isInteger(counts.warmup) || counts.warmup < 0) {
    throw new InvalidInputError(`measure: warmup ${counts.warmup} is invalid; pass an integer of 0 or more`);
  }
  if (!Number.isInteger(counts.runs) || counts.runs < 1) {
    throw new InvalidInputError(`measure: runs ${counts.runs} is invalid; pass an integer of 1 or more`);
  }

  let lastResult: T | undefined;
  for (let i = 0; i < counts.warmup; i++) lastResult = await task();

  const samplesMs: number[] = [];
  let totalMs = 0;
  for (let i = 0; i < counts.runs; i++) {
    const start = performance.now();
    lastResult = await task();
    const elapsed = performance.now() - start;
    samplesMs.push(elapsed);

    totalMs += elapsed;
    if (counts.budgetMs !== undefined && totalMs >= counts.budgetMs) break;
  }
  return { samplesMs, medianMs: median(samplesMs), lastResult: lastResult as T };
}

/** Returns `length` token ids drawn uniformly from [0, idLimit) by a generator seeded with `seed`. */
export function promptTokenIds(seed: number, length: number, idLimit: number): number[] {
  if (!Number.isInteger(length) || length < 1) throw new InvalidInputError(`promptTokenIds: length ${length} is invalid; pass a positive integer`);
  if (!Number.isInteger(idLimit) || idLimit < 1) throw new InvalidInputError(`promptTokenIds: idLimit ${idLimit} is invalid; pass a positive integer`);

  const random = new Random(`bench-prompt/${seed}/${length}`);
  return Array.from({ length }, () => Math.floor(random.uniform() * idLimit));
}

/** Returns the index of the largest value (the first one on ties). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}
