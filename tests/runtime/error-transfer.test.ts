import * as Comlink from "comlink";
import { afterEach, describe, expect, it } from "vitest";
import {
  AbortError,
  GGUFFormatError,
  GGUFUnsupportedError,
  IOError,
  TensorNotFoundError,
  TokenjudgeError,
} from "../../src/errors.js";
import { WebGPUUnavailableError } from "../../src/gpu/device.js";
import {
  deserializeTokenjudgeError,
  installErrorTransfer,
  registeredErrorClasses,
  serializeTokenjudgeError,
} from "../../src/runtime/error-transfer.js";
import { WorkerCrashedError } from "../../src/runtime/errors.js";

installErrorTransfer();

// Errors built the way the library throws them, one per class that has extra fields or a cause.
const cases: Array<{ label: string; make: () => TokenjudgeError }> = [
  { label: "GGUFFormatError", make: () => new GGUFFormatError("model.gguf", "tensor[3].dims", "dimension 0 is zero", 0) },
  { label: "GGUFUnsupportedError bigint", make: () => new GGUFUnsupportedError("m.gguf", "version", "version 1 is not supported", 1n) },
  { label: "TensorNotFoundError", make: () => new TensorNotFoundError("m.gguf", "blk.0.attn_q.weight") },
  { label: "IOError with cause", make: () => new IOError("read of bytes 0..10 failed", { cause: new RangeError("offset out of range") }) },
  { label: "AbortError", make: () => new AbortError() },
  { label: "WebGPUUnavailableError", make: () => new WebGPUUnavailableError("navigator.gpu is undefined") },
  { label: "WorkerCrashedError", make: () => new WorkerCrashedError("the worker failed", "ReferenceError: x") },
];

const openPorts: MessagePort[] = [];
afterEach(() => {
  for (const port of openPorts.splice(0)) port.close();
});

/** Exposes `api` on one end of a fresh MessageChannel and returns the comlink proxy of the other. */
function connect<T extends object>(api: T): Comlink.Remote<T> {
  const { port1, port2 } = new MessageChannel();
  openPorts.push(port1, port2);
  Comlink.expose(api, port1);
  return Comlink.wrap<T>(port2);
}

function expectSameError(received: unknown, original: TokenjudgeError): void {
  expect(received).toBeInstanceOf(original.constructor);
  expect(received).toBeInstanceOf(TokenjudgeError);
  const error = received as TokenjudgeError;
  expect(error.code).toBe(original.code);
  expect(error.message).toBe(original.message);
  expect(error.name).toBe(original.name);
  for (const [key, value] of Object.entries(original)) {
    expect((error as unknown as Record<string, unknown>)[key], `field ${key}`).toEqual(value);
  }
}

describe("error transfer over comlink", () => {
  it("registers every TokenjudgeError class in src/errors.ts", () => {
    const names = [...registeredErrorClasses().keys()];
    for (const name of ["TokenjudgeError", "GGUFFormatError", "IOError", "AbortError", "WebGPUUnavailableError"]) {
      expect(names).toContain(name);
    }
  });

  for (const { label, make } of cases) {
    it(`thrown ${label} keeps class and fields`, async () => {
      const original = make();
      const remote = connect({
        fail(): void {
          throw make();
        },
      });

      const thrown = await remote.fail().then(
        () => undefined,
        (error: unknown) => error,
      );

      expectSameError(thrown, original);
    });

    it(`returned ${label} keeps class and fields`, async () => {
      const original = make();
      const remote = connect({ give: () => make() });

      const returned = await remote.give();

      expectSameError(returned, original);
    });
  }

  it("thrown cause arrives as an Error", async () => {
    const remote = connect({
      fail(): void {
        throw new IOError("read failed", { cause: new RangeError("offset 9 out of range") });
      },
    });

    const thrown = (await remote.fail().catch((error: unknown) => error)) as IOError;

    expect(thrown.cause).toBeInstanceOf(Error);
    expect((thrown.cause as Error).message).toBe("offset 9 out of range");
    expect((thrown.cause as Error).name).toBe("RangeError");
  });

  it("plain Error keeps comlink's handling", async () => {
    const remote = connect({
      fail(): void {
        throw new TypeError("not ours");
      },
    });

    const thrown = (await remote.fail().catch((error: unknown) => error)) as Error;

    expect(thrown).toBeInstanceOf(Error);
    expect(thrown).not.toBeInstanceOf(TokenjudgeError);
    expect(thrown.message).toBe("not ours");
  });

  it("unregistered subclass becomes TokenjudgeError", () => {
    class LocalOnlyError extends TokenjudgeError {
      constructor() {
        super("INVALID_INPUT", "local only");
      }
    }
    const serialized = serializeTokenjudgeError(new LocalOnlyError());

    const rebuilt = deserializeTokenjudgeError(serialized);

    expect(rebuilt).toBeInstanceOf(TokenjudgeError);
    expect(rebuilt.name).toBe("LocalOnlyError");
    expect(rebuilt.code).toBe("INVALID_INPUT");
    expect(rebuilt.message).toBe("local only");
  });
});
