// Typed errors. Each failure mode has its own class with a stable `code`, so callers can branch on
// `error.code` (or `instanceof`) and the class survives a worker boundary (see `serializeError`).

export type TokenjudgeErrorCode =
  | "GGUF_INVALID"
  | "GGUF_UNSUPPORTED"
  | "TENSOR_NOT_FOUND"
  | "MODEL_UNSUPPORTED"
  | "TOKENIZER_INVALID"
  | "TEMPLATE_INVALID"
  | "INVALID_INPUT"
  | "IO_FAILED"
  | "ABORTED"
  | "WEBGPU_UNAVAILABLE"
  | "DEVICE_LIMITS"
  | "DEVICE_LOST"
  | "GPU_UNSUPPORTED"
  | "ORACLE_FAILED"
  | "METRIC_INVALID"
  | "LABEL_TOKENS_INVALID"
  | "TEMPLATE_SLOT_MISSING"
  | "ADAPTER_INVALID"
  | "ADAPTER_MISMATCH"
  | "ADAPTER_NOT_FINITE"
  | "INTEGRITY_FAILED"
  | "CACHE_QUOTA_EXCEEDED"
  | "DATA_ROW_INVALID"
  | "NON_FINITE_OUTPUT";

/** Base class of every error tokenjudge throws on purpose. */
export class TokenjudgeError extends Error {
  readonly code: TokenjudgeErrorCode;

  constructor(code: TokenjudgeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * A malformed GGUF file: truncated, a wrong magic number, a count or size out of range, tensor
 * data past the end of the file, invalid UTF-8. `file` names the source, `field` the part that
 * failed to parse, and `value` the offending value when there is one.
 */
export class GGUFFormatError extends TokenjudgeError {
  constructor(
    readonly file: string,
    readonly field: string,
    message: string,
    readonly value?: string | number | bigint,
  ) {
    super("GGUF_INVALID", `${file}: ${field}: ${message}`);
  }
}

/** A well-formed GGUF file that uses something this library does not implement. */
export class GGUFUnsupportedError extends TokenjudgeError {
  constructor(
    readonly file: string,
    readonly field: string,
    message: string,
    readonly value?: string | number | bigint,
  ) {
    super("GGUF_UNSUPPORTED", `${file}: ${field}: ${message}`);
  }
}

/** A tensor the model architecture needs is missing from the file. */
export class TensorNotFoundError extends TokenjudgeError {
  constructor(
    readonly file: string,
    readonly tensor: string,
  ) {
    super("TENSOR_NOT_FOUND", `${file}: tensor "${tensor}" not found; the file does not match its declared architecture`);
  }
}

/** The model's architecture or hyperparameters are outside what the forward pass implements. */
export class ModelUnsupportedError extends TokenjudgeError {
  constructor(message: string) {
    super("MODEL_UNSUPPORTED", message);
  }
}

/** The tokenizer metadata in a model file is missing or inconsistent. */
export class TokenizerError extends TokenjudgeError {
  constructor(message: string) {
    super("TOKENIZER_INVALID", message);
  }
}

/** A chat template failed to parse or render. */
export class TemplateError extends TokenjudgeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("TEMPLATE_INVALID", message, options);
  }
}

/** Caller input that cannot be evaluated: empty, invalid UTF-8, too long, a bad option. */
export class InvalidInputError extends TokenjudgeError {
  constructor(message: string) {
    super("INVALID_INPUT", message);
  }
}

/** Reading bytes from a file, Blob or URL failed. */
export class IOError extends TokenjudgeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("IO_FAILED", message, options);
  }
}

/** The operation was cancelled through its AbortSignal. */
export class AbortError extends TokenjudgeError {
  constructor(message = "the operation was aborted") {
    super("ABORTED", message);
  }
}

/** Throws `AbortError` when `signal` is aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new AbortError();
}

/** The WebGPU adapter grants less than a kernel needs (storage binding size, buffers per stage, workgroup memory). */
export class DeviceLimitsError extends TokenjudgeError {
  constructor(
    readonly limit: string,
    readonly required: number,
    readonly available: number,
    message: string,
  ) {
    super("DEVICE_LIMITS", message);
  }
}

/**
 * The WebGPU device was lost (driver reset, tab in background too long, `destroy()`), or its
 * context was disposed. Every later call on that context throws this error; create a new context.
 */
export class DeviceLostError extends TokenjudgeError {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super("DEVICE_LOST", message);
  }
}

/**
 * The GPU cannot run a kernel as requested: a missing feature (shader-f16), a tensor type the
 * kernels do not decode, or a shader or dispatch that the WebGPU implementation rejected.
 */
export class GPUUnsupportedError extends TokenjudgeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("GPU_UNSUPPORTED", message, options);
  }
}

/** The llama.cpp oracle (node-llama-cpp) failed to load a model or evaluate tokens. */
export class OracleError extends TokenjudgeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ORACLE_FAILED", message, options);
  }
}

/** A metric definition that fails validation. `metric` is its id (or "<unknown>"), `field` the JSON path of the bad value. */
export class MetricDefinitionError extends TokenjudgeError {
  constructor(
    readonly metric: string,
    readonly field: string,
    message: string,
  ) {
    super("METRIC_INVALID", `metric "${metric}": ${field}: ${message}`);
  }
}

/** Two or more labels of a metric start with the same token for the loaded tokenizer, or a label text encodes to no token. */
export class LabelTokenError extends TokenjudgeError {
  constructor(
    readonly metric: string,
    readonly labels: string[],
    message: string,
  ) {
    super("LABEL_TOKENS_INVALID", `metric "${metric}": labels ${labels.map((label) => `"${label}"`).join(", ")}: ${message}`);
  }
}

/** A metric's template uses a slot ({input}, {output}, {context}, {tools}, {tool_call}) that the request leaves empty. */
export class TemplateSlotError extends TokenjudgeError {
  constructor(
    readonly metric: string,
    readonly slot: string,
  ) {
    super("TEMPLATE_SLOT_MISSING", `metric "${metric}": template slot {${slot}} has no value in the request; pass a non-empty value for it or drop the metric`);
  }
}

/** A LoRA adapter file (PEFT safetensors + adapter_config.json, or GGUF) is malformed or unsupported. */
export class AdapterFormatError extends TokenjudgeError {
  constructor(
    readonly file: string,
    readonly field: string,
    message: string,
  ) {
    super("ADAPTER_INVALID", `${file}: ${field}: ${message}`);
  }
}

/** A LoRA adapter does not fit the loaded model: another architecture, an unknown tensor or a wrong shape. */
export class AdapterMismatchError extends TokenjudgeError {
  constructor(
    readonly adapter: string,
    readonly tensor: string,
    readonly expected: string,
    readonly actual: string,
    message: string,
  ) {
    super("ADAPTER_MISMATCH", `${adapter}: ${tensor}: ${message} (model expects ${expected}, adapter has ${actual}); use an adapter trained for this base model`);
  }
}

/** A LoRA adapter tensor contains NaN or infinite values. */
export class AdapterWeightsError extends TokenjudgeError {
  constructor(
    readonly adapter: string,
    readonly tensor: string,
    readonly index: number,
    readonly value: number,
  ) {
    super("ADAPTER_NOT_FINITE", `${adapter}: tensor "${tensor}" element ${index} is ${value}; the adapter is corrupt, so re-export or re-download it`);
  }
}

/** Downloaded or cached bytes whose SHA-256 digest differs from the expected one. */
export class IntegrityError extends TokenjudgeError {
  constructor(
    readonly resource: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super("INTEGRITY_FAILED", `${resource}: SHA-256 is ${actual} but ${expected} was expected; the file is corrupt or was replaced, so check the URL and the sha256 field`);
  }
}

/** The browser storage quota rejected a write to the adapter cache. Sizes are in bytes. */
export class CacheQuotaError extends TokenjudgeError {
  constructor(
    readonly key: string,
    readonly entryBytes: number,
    readonly cachedBytes: number,
    readonly budgetBytes: number,
    options?: { cause?: unknown },
  ) {
    super(
      "CACHE_QUOTA_EXCEEDED",
      `adapter cache: storing "${key}" (${entryBytes} bytes) exceeded the storage quota with ${cachedBytes} bytes cached under a ${budgetBytes}-byte budget; lower the cache budget or free browser storage`,
      options,
    );
  }
}

/**
 * A row of an evaluation data file (JSONL, CSV or a labeled data set) that cannot be evaluated.
 * `row` is the 1-based data row (the CSV header is not counted), `line` the 1-based line where it
 * starts, and `field` the column or JSON key that is wrong.
 */
export class DataRowError extends TokenjudgeError {
  constructor(
    readonly file: string,
    readonly row: number,
    readonly line: number,
    readonly field: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super("DATA_ROW_INVALID", `${file}: row ${row} (line ${line}): ${field}: ${message}`, options);
  }
}

/** The model produced NaN or infinite logits, so no verdict can be read; the weights or adapters contain non-finite values. */
export class NonFiniteOutputError extends TokenjudgeError {
  constructor(
    readonly metric: string,
    readonly values: number[],
  ) {
    super(
      "NON_FINITE_OUTPUT",
      `metric "${metric}": the class probabilities are not finite (${values.join(", ")}); check the model and adapter weights for NaN or Inf values`,
    );
  }
}

/**
 * A chat template exceeded a render limit: evaluation steps, wall-clock time, or the length of one
 * string or list value. `limit` names the limit and `value` its setting.
 */
export class TemplateLimitError extends TemplateError {
  constructor(
    readonly limit: "maxSteps" | "maxMilliseconds" | "maxValueLength",
    readonly value: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A command line that does not match the command's usage: an extra or missing argument. The
 * `tokenjudge` command exits with status 2 for it and points to `tokenjudge COMMAND --help`.
 */
export class UsageError extends InvalidInputError {
  constructor(
    readonly command: string,
    message: string,
  ) {
    super(`${command}: ${message}`);
  }
}

/** A download sent, or was about to send, more bytes than its limit allows. Sizes are in bytes. */
export class DownloadTooLargeError extends IOError {
  constructor(
    readonly url: string,
    readonly limitBytes: number,
    /** The Content-Length header's value, or the bytes received when the download was stopped. */
    readonly actualBytes: number,
    readonly measuredBy: "Content-Length" | "received bytes",
  ) {
    const size = measuredBy === "Content-Length" ? `declares a Content-Length of ${actualBytes} bytes` : `sent more than ${limitBytes} bytes (${actualBytes} received when it was stopped)`;
    super(`${url}: the download ${size}, above the limit of ${limitBytes} bytes; check the URL, or raise the size limit if the file is meant to be this large`);
  }
}

/** A download did not finish within its time limit. */
export class DownloadTimeoutError extends IOError {
  constructor(
    readonly url: string,
    readonly timeoutMs: number,
  ) {
    super(`${url}: the download timed out after ${timeoutMs} ms; check that the server responds, or raise the download timeout`);
  }
}
