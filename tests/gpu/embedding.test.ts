import { afterAll, describe, expect, it } from "vitest";
import { GPUUnsupportedError, InvalidInputError } from "../../src/errors.js";
import { GGMLType, ggmlTypeName } from "../../src/gguf/types.js";
import { embeddingDispatches } from "../../src/gpu/kernels/embedding.js";
import { validateTokenIds, type BindingLimits } from "../../src/gpu/kernels/weight-rows.js";
import { embeddingReference } from "../../src/gpu/reference/class-logits.js";
import { createRandom, expectClose, openTestContext } from "./helpers.js";
import { TOLERANCES } from "./tolerances.js";
import { GATHER_TEST_TYPES, alignedRowStep, randomMatrix } from "./weight-data.js";

const gpu = await openTestContext();

describe.skipIf(!gpu.ctx)("embedding kernel", () => {
  const ctx = gpu.ctx!;
  afterAll(() => ctx.dispose());

  async function check(type: GGMLType, rows: number, cols: number, tokens: number, seed: number, limits?: BindingLimits) {
    const random = createRandom(seed);
    const matrix = randomMatrix(random, type, rows, cols);
    // The first two ids are the last and the first row, the rest are random.
    const ids = Uint32Array.from({ length: tokens }, () => random.int(0, rows - 1));
    ids[0] = rows - 1;
    ids[1] = 0;
    validateTokenIds(ids, rows, "embedding test");
    const out = ctx.createStorageBuffer("out", tokens * cols * 4);
    const table = { buffer: ctx.createStorageBuffer("token_embd", matrix.bytes), type, rows, cols, name: "token_embd" };

    const dispatches = embeddingDispatches({ ids: ctx.createStorageBuffer("ids", ids), tokens, table, out, limits });
    await ctx.run(dispatches);

    const caseParams = { type: ggmlTypeName(type), rows, cols, tokens, seed, chunks: dispatches.length };
    expectClose(await ctx.readFloat32(out, 0, tokens * cols), embeddingReference(matrix.values, cols, ids), TOLERANCES.embedding, caseParams);
    return dispatches.length;
  }

  it("matches reference on fixed case", async () => {
    await check(GGMLType.Q8_0, 10, 64, 4, 1);
  });

  for (const type of GATHER_TEST_TYPES) {
    it(`gathers ${ggmlTypeName(type)} rows`, async () => {
      const random = createRandom(500 + type);
      const blockSize = type === GGMLType.Q4_K || type === GGMLType.Q6_K ? 256 : 32;
      for (let i = 0; i < 2; i++) {
        const cols = blockSize * random.int(1, 3);
        await check(type, random.int(2, 50), cols, random.int(2, 9), 600 + 10 * type + i);
      }
    });
  }

  it("gathers across binding chunks", async () => {
    for (const type of GATHER_TEST_TYPES) {
      const cols = type === GGMLType.Q4_K || type === GGMLType.Q6_K ? 256 : 64;
      const probe = randomMatrix(createRandom(1), type, 1, cols);
      const step = alignedRowStep(probe.rowBytes);
      const limits = { maxStorageBufferBindingSize: 2 * step * probe.rowBytes, minStorageBufferOffsetAlignment: 256 };
      const rows = 4 * step + 3;
      const chunks = await check(type, rows, cols, 12, 700 + type, limits);
      expect(chunks, ggmlTypeName(type)).toBe(Math.ceil(rows / (2 * step)));
      expect(chunks, ggmlTypeName(type)).toBeGreaterThanOrEqual(3);
    }
  });

  it("rejects unsupported type and bad ids", () => {
    const buffer = ctx.createStorageBuffer("table", 64 * 34);
    const out = ctx.createStorageBuffer("out", 64 * 4);
    const table = { buffer, type: GGMLType.Q5_K, rows: 1, cols: 256, name: "token_embd" };
    expect(() => embeddingDispatches({ ids: out, tokens: 1, table, out })).toThrow(GPUUnsupportedError);
    expect(() => embeddingDispatches({ ids: out, tokens: 1, table: { ...table, type: GGMLType.Q8_0, cols: 40 }, out })).toThrow(InvalidInputError);
    expect(() => validateTokenIds([0, 5, 64], 64, "embedding")).toThrow(/token id 64 at index 2/);
  });
});
