// Property tests: mutated GGUF files must parse or fail with a TokenjudgeError, quickly, and never
// with another error type (RangeError, TypeError, out-of-memory) or a hang.

import fc from "fast-check";
import { describe, expect, it } from "vitest";

import { TokenjudgeError } from "../../src/errors.js";
import { GGMLType, GGUFValueType } from "../../src/gguf/types.js";
import { RawBytes, openBytes } from "./helpers.js";

/** Per-file parse time limit; a valid parse of these files takes well under a millisecond. */
const PARSE_TIME_LIMIT_MS = 1000;

/** RawBytes that records the offset of every u64 it writes, so tests can corrupt exactly those. */
class RecordingBytes extends RawBytes {
  readonly u64Offsets: number[] = [];

  override u64(value: bigint | number): this {
    this.u64Offsets.push(this.length);
    return super.u64(value);
  }
}

/** Builds a valid v3 file with every kind of header field: scalars, strings, arrays, nested arrays, tensors. */
function buildSample(): { bytes: Uint8Array; u64Offsets: number[] } {
  const raw = new RecordingBytes().header(3, 3, 6);
  raw.str("general.architecture").u32(GGUFValueType.STRING).str("llama");
  raw.str("general.alignment").u32(GGUFValueType.UINT32).u32(32);
  raw.str("llama.context_length").u32(GGUFValueType.UINT64).u64(2048);
  raw.str("tokenizer.ggml.tokens").u32(GGUFValueType.ARRAY).u32(GGUFValueType.STRING).u64(3).str("<s>").str("▁a").str("b");
  raw.str("tokenizer.ggml.scores").u32(GGUFValueType.ARRAY).u32(GGUFValueType.FLOAT32).u64(3).zeros(12);
  raw.str("x.nested").u32(GGUFValueType.ARRAY).u32(GGUFValueType.ARRAY).u64(2);
  raw.u32(GGUFValueType.INT8).u64(2).u8(1).u8(2);
  raw.u32(GGUFValueType.BOOL).u64(1).u8(1);

  raw.tensorInfo("token_embd.weight", [4, 3], GGMLType.F32, 0);
  raw.tensorInfo("blk.0.attn_q.weight", [32, 2], GGMLType.Q8_0, 64);
  raw.tensorInfo("output_norm.weight", [4], GGMLType.F16, 160);
  raw.pad(32).zeros(192);
  return { bytes: raw.finish(), u64Offsets: raw.u64Offsets };
}

const sample = buildSample();

/** Parses `bytes` and reads every tensor; returns normally or throws whatever was not a TokenjudgeError. */
async function parseTolerantly(bytes: Uint8Array): Promise<void> {
  const start = performance.now();
  try {
    const file = await openBytes(bytes, "fuzz.gguf");
    for (const tensor of file.tensors) await file.readTensorBytes(tensor).catch(rethrowUnexpected);
  } catch (error) {
    rethrowUnexpected(error);
  }
  const elapsed = performance.now() - start;
  if (elapsed > PARSE_TIME_LIMIT_MS) throw new Error(`parse took ${elapsed.toFixed(0)} ms, over the ${PARSE_TIME_LIMIT_MS} ms limit`);
}

function rethrowUnexpected(error: unknown): void {
  if (!(error instanceof TokenjudgeError)) throw error;
}

describe("GGUF parser on mutated files", () => {
  it("parses the unmutated sample", async () => {
    const file = await openBytes(sample.bytes);
    expect(file.tensors.length).toBe(3);
    expect(file.getStringArray("tokenizer.ggml.tokens")).toEqual(["<s>", "▁a", "b"]);
    expect(file.getNumber("llama.context_length")).toBe(2048);
  });

  it("survives truncation at any point", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: sample.bytes.length }), async (length) => {
        await parseTolerantly(sample.bytes.slice(0, length));
      }),
      { numRuns: 200 },
    );
  });

  it("survives random byte flips", async () => {
    const flip = fc.record({ index: fc.nat({ max: sample.bytes.length - 1 }), mask: fc.integer({ min: 1, max: 255 }) });
    await fc.assert(
      fc.asyncProperty(fc.array(flip, { minLength: 1, maxLength: 8 }), async (flips) => {
        const bytes = sample.bytes.slice();
        for (const { index, mask } of flips) bytes[index]! ^= mask;
        await parseTolerantly(bytes);
      }),
      { numRuns: 500 },
    );
  });

  it("survives huge values in u64 fields", async () => {
    const huge = fc.oneof(
      fc.constantFrom(2n ** 64n - 1n, 2n ** 63n, 2n ** 60n, 2n ** 53n, 2n ** 32n, BigInt(sample.bytes.length)),
      fc.bigInt({ min: 2n ** 20n, max: 2n ** 64n - 1n }),
    );
    const write = fc.record({ field: fc.constantFrom(...sample.u64Offsets), value: huge });
    await fc.assert(
      fc.asyncProperty(fc.array(write, { minLength: 1, maxLength: 3 }), async (writes) => {
        const bytes = sample.bytes.slice();
        const view = new DataView(bytes.buffer);
        for (const { field, value } of writes) view.setBigUint64(field, value, true);
        await parseTolerantly(bytes);
      }),
      { numRuns: 300 },
    );
  });
});
