// Typed errors across a comlink boundary. comlink 4.4.2 sends a thrown Error as a plain
// `{ name, message, stack }` and rebuilds a bare `Error` on the other side. The handlers here send
// every TokenjudgeError subclass by class name with its own fields, and rebuild an instance of the
// same registered class, so `instanceof`, `code` and fields such as `file` survive the trip.
// Both sides must call `installErrorTransfer()` before the first call crosses.

import * as Comlink from "comlink";
import * as errorModule from "../errors.js";
import { TokenjudgeError, type TokenjudgeErrorCode } from "../errors.js";
import { WebGPUUnavailableError } from "../gpu/device.js";
import { WorkerCrashedError } from "./errors.js";

type ErrorClass = abstract new (...args: never[]) => TokenjudgeError;

/** The wire form of a TokenjudgeError: structured-clone safe. */
export interface SerializedTokenjudgeError {
  kind: "tokenjudge-error";
  className: string;
  code: TokenjudgeErrorCode;
  message: string;
  stack: string | undefined;
  /** The instance's own enumerable fields (`file`, `field`, `value`, ...), cloneable ones only. */
  fields: Record<string, unknown>;
  cause: SerializedTokenjudgeError | { kind: "error"; name: string; message: string } | undefined;
}

const registry = new Map<string, ErrorClass>();

/**
 * Adds an error class to the registry under its class name, so errors of that class are rebuilt as
 * instances of it. Registering a second, different class under the same name throws.
 */
export function registerErrorClass(errorClass: ErrorClass): void {
  const existing = registry.get(errorClass.name);
  if (existing && existing !== errorClass) {
    throw new TypeError(`two different error classes are named ${errorClass.name}; rename one so the worker boundary can tell them apart`);
  }
  registry.set(errorClass.name, errorClass);
}

/** Returns the registered classes, for tests and diagnostics. */
export function registeredErrorClasses(): ReadonlyMap<string, ErrorClass> {
  return registry;
}

function isErrorClass(value: unknown): value is ErrorClass {
  return typeof value === "function" && (value === TokenjudgeError || value.prototype instanceof TokenjudgeError);
}

// Every TokenjudgeError subclass exported by src/errors.ts, plus the GPU-side ones defined elsewhere.
for (const exported of Object.values(errorModule)) {
  if (isErrorClass(exported)) registerErrorClass(exported);
}
registerErrorClass(WebGPUUnavailableError);
registerErrorClass(WorkerCrashedError);

function isCloneable(value: unknown): boolean {
  const kind = typeof value;
  if (value === null || kind === "string" || kind === "number" || kind === "bigint" || kind === "boolean" || kind === "undefined") {
    return true;
  }
  if (Array.isArray(value)) return value.every(isCloneable);
  if (ArrayBuffer.isView(value)) return true;
  return false;
}

/** Converts a TokenjudgeError to its wire form. Fields that structured clone cannot carry are dropped. */
export function serializeTokenjudgeError(error: TokenjudgeError): SerializedTokenjudgeError {
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(error)) {
    if (key === "code" || key === "name" || key === "message" || key === "stack") continue;
    if (isCloneable(value)) fields[key] = value;
  }

  let cause: SerializedTokenjudgeError["cause"];
  if (error.cause instanceof TokenjudgeError) cause = serializeTokenjudgeError(error.cause);
  else if (error.cause instanceof Error) cause = { kind: "error", name: error.cause.name, message: error.cause.message };

  return {
    kind: "tokenjudge-error",
    className: error.constructor.name,
    code: error.code,
    message: error.message,
    stack: error.stack,
    fields,
    cause,
  };
}

/**
 * Rebuilds an error from its wire form as an instance of the registered class of that name, or of
 * TokenjudgeError (keeping `name` and `code`) when no class is registered under it. The
 * constructor is not called, because subclasses build their message from arguments that are gone.
 */
export function deserializeTokenjudgeError(serialized: SerializedTokenjudgeError): TokenjudgeError {
  const errorClass = registry.get(serialized.className) ?? TokenjudgeError;
  const error = Object.create(errorClass.prototype) as TokenjudgeError;

  const define = (key: string, value: unknown, enumerable: boolean): void => {
    Object.defineProperty(error, key, { value, writable: true, configurable: true, enumerable });
  };
  define("message", serialized.message, false);
  define("stack", serialized.stack, false);
  define("code", serialized.code, true);
  define("name", serialized.className, true);
  for (const [key, value] of Object.entries(serialized.fields)) define(key, value, true);

  if (serialized.cause?.kind === "tokenjudge-error") {
    define("cause", deserializeTokenjudgeError(serialized.cause), false);
  } else if (serialized.cause) {
    const cause = new Error(serialized.cause.message);
    cause.name = serialized.cause.name;
    define("cause", cause, false);
  }
  return error;
}

function isSerializedTokenjudgeError(value: unknown): value is SerializedTokenjudgeError {
  return typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "tokenjudge-error";
}

let installed = false;

/**
 * Installs the comlink transfer handlers on this side of the boundary: one for TokenjudgeErrors
 * passed or returned as values, and a wrapper around comlink's own "throw" handler for thrown ones.
 * Other thrown values keep comlink's default handling. Safe to call more than once.
 */
export function installErrorTransfer(): void {
  if (installed) return;
  installed = true;

  Comlink.transferHandlers.set("tokenjudge-error", {
    canHandle: (value: unknown): value is TokenjudgeError => value instanceof TokenjudgeError,
    serialize: (error: TokenjudgeError) => [serializeTokenjudgeError(error), []],
    deserialize: (serialized: SerializedTokenjudgeError) => deserializeTokenjudgeError(serialized),
  });

  // comlink wraps a thrown value as `{ value, [throwMarker]: 0 }` and keeps the marker symbol
  // private, so the wrapper reuses the original `canHandle` and only changes the payload.
  const original = Comlink.transferHandlers.get("throw");
  if (!original) {
    throw new TypeError("comlink has no \"throw\" transfer handler; error transfer expects comlink 4.x");
  }
  Comlink.transferHandlers.set("throw", {
    canHandle: (value: unknown): value is unknown => original.canHandle(value),
    serialize: (wrapped: unknown) => {
      const thrown = (wrapped as { value: unknown }).value;
      if (thrown instanceof TokenjudgeError) return [serializeTokenjudgeError(thrown), []];
      return original.serialize(wrapped);
    },
    deserialize: (serialized: unknown) => {
      if (isSerializedTokenjudgeError(serialized)) throw deserializeTokenjudgeError(serialized);
      return original.deserialize(serialized);
    },
  });
}
