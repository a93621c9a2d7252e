// Shared test helpers: a raw little-endian builder for hand-made (often invalid) GGUF bytes, and an
// assertion that a promise rejects with a given error class, code and message fragments.

import { expect } from "vitest";

import { GGUFFile } from "../../src/gguf/reader.js";
import { MemorySource } from "../../src/io/memory.js";

/** Appends little-endian values without any validation, so tests can write malformed files. */
export class RawBytes {
  private readonly bytes: number[] = [];

  u8(value: number): this {
    this.bytes.push(value & 0xff);
    return this;
  }

  u32(value: number): this {
    const view = new DataView(new ArrayBuffer(4));
    view.setUint32(0, value >>> 0, true);
    return this.raw(new Uint8Array(view.buffer));
  }

  u64(value: bigint | number): this {
    const view = new DataView(new ArrayBuffer(8));
    view.setBigUint64(0, BigInt(value), true);
    return this.raw(new Uint8Array(view.buffer));
  }

  raw(data: ArrayLike<number>): this {
    for (let i = 0; i < data.length; i++) this.bytes.push(data[i]!);
    return this;
  }

  /** Appends a GGUF string: the u64 byte length, then the bytes (UTF-8 encoded when `value` is a string). */
  str(value: string | Uint8Array): this {
    const data = typeof value === "string" ? new TextEncoder().encode(value) : value;
    return this.u64(data.length).raw(data);
  }

  /** Magic, version, tensor count and metadata count. */
  header(version: number, tensorCount: bigint | number, metadataCount: bigint | number): this {
    return this.u32(0x46554747).u32(version).u64(tensorCount).u64(metadataCount);
  }

  tensorInfo(name: string, dims: (number | bigint)[], type: number, offset: bigint | number): this {
    this.str(name).u32(dims.length);
    for (const dim of dims) this.u64(dim);
    return this.u32(type).u64(offset);
  }

  /** Zero bytes up to the next multiple of `alignment`. */
  pad(alignment: number): this {
    while (this.bytes.length % alignment !== 0) this.bytes.push(0);
    return this;
  }

  zeros(count: number): this {
    for (let i = 0; i < count; i++) this.bytes.push(0);
    return this;
  }

  get length(): number {
    return this.bytes.length;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

export function openBytes(bytes: Uint8Array, name = "test.gguf"): Promise<GGUFFile> {
  return GGUFFile.open(new MemorySource(name, bytes));
}

/**
 * Asserts that `promise` rejects with an instance of `errorClass` carrying `code`, and that the
 * message contains every fragment (the field name, the bad value). Returns the error.
 */
export async function expectRejects<E extends Error>(
  promise: Promise<unknown>,
  errorClass: new (...args: never[]) => E,
  code: string,
  fragments: string[],
): Promise<E> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error, "expected a rejection").toBeInstanceOf(errorClass);
  expect((error as { code?: string }).code).toBe(code);
  for (const fragment of fragments) expect((error as Error).message).toContain(fragment);
  return error as E;
}

/** Synchronous counterpart of `expectRejects`. */
export function expectThrows<E extends Error>(
  run: () => unknown,
  errorClass: new (...args: never[]) => E,
  code: string,
  fragments: string[],
): E {
  let error: unknown;
  try {
    run();
  } catch (caught) {
    error = caught;
  }
  expect(error, "expected an exception").toBeInstanceOf(errorClass);
  expect((error as { code?: string }).code).toBe(code);
  for (const fragment of fragments) expect((error as Error).message).toContain(fragment);
  return error as E;
}
