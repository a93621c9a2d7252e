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
  | "ORACLE_FAILED";

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
