// Errors of the worker runtime. They live here rather than in src/errors.ts because only the
// worker client raises them.

import { TokenjudgeError } from "../errors.js";

/**
 * The runtime's Web Worker failed (an uncaught error or a script that did not load) or was
 * terminated, so every call in flight was rejected. Create a new runtime to continue.
 */
export class WorkerCrashedError extends TokenjudgeError {
  constructor(
    message: string,
    readonly detail?: string,
  ) {
    // NOTE: TokenjudgeErrorCode has no worker-specific code, so this reuses DEVICE_LOST: the
    // runtime lost the thread that owned its GPU device. Branch on the class to tell them apart.
    super("DEVICE_LOST", message);
  }
}
