import { describe, expect, it } from "vitest";
import { Random } from "../../src/fixtures/random.js";
import { roundToF16 } from "../../src/gguf/half.js";
import { GGMLType } from "../../src/gguf/types.js";
import { roundActivationsLikeLlamaCpp } from "../../src/reference/activation-rounding.js";
import { causalAttention } from "../../src/reference/attention.js";
import { KVCache } from "../../src/reference/kv-cache.js";
import { matmul } from "../../src/reference/matmul.js";
import { swiGluMlp } from "../../src/reference/mlp.js";
import { rmsNorm } from "../../src/reference/norm.js";
import { applyRope, ropeInverseFrequencies, type RopeParameters } from "../../src/reference/rope.js";
import { maxAbsDifference } from "./helpers.js";

describe("rmsNorm", () => {
  it("matches a hand-computed row", () => {
    // Row [3, 4]: mean square 12.5, so each element is divided by sqrt(12.5 + eps).
    const out = rmsNorm(new Float32Array([3, 4, 1, 1]), new Float32Array([1, 2]), 0, 2);
    expect(out[0]).toBeCloseTo(3 / Math.sqrt(12.5), 6);
    expect(out[1]).toBeCloseTo((2 * 4) / Math.sqrt(12.5), 6);
    expect(out[2]).toBeCloseTo(1, 6);
    expect(out[3]).toBeCloseTo(2, 6);
  });

  it("includes epsilon", () => {
    const out = rmsNorm(new Float32Array([0.001]), new Float32Array([1]), 1e-6, 1);
    expect(out[0]).toBeCloseTo(0.001 / Math.sqrt(1e-6 + 1e-6), 5);
  });
});

describe("matmul", () => {
  it("uses row-major [out, in] weights and bias", () => {
    // W = [[1, 2, 3], [4, 5, 6]], x rows [1, 0, 1] and [0, 1, 0].
    const y = matmul(new Float32Array([1, 0, 1, 0, 1, 0]), new Float32Array([1, 2, 3, 4, 5, 6]), 3, 2, new Float32Array([10, 20]));
    expect(Array.from(y)).toEqual([14, 30, 12, 25]);
  });
});

describe("swiGluMlp", () => {
  it("matches the closed form for one unit", () => {
    const x = new Float32Array([0.5, -1]);
    const out = swiGluMlp(x, { gate: new Float32Array([2, 1]), up: new Float32Array([1, 3]), down: new Float32Array([1, -2]) }, 2, 1);
    const g = 2 * 0.5 + 1 * -1; // 0
    const u = 0.5 + 3 * -1; // -2.5
    const h = (g / (1 + Math.exp(-g))) * u;
    expect(out[0]).toBeCloseTo(h, 6);
    expect(out[1]).toBeCloseTo(-2 * h, 6);
  });
});

describe("RoPE", () => {
  const base: RopeParameters = { headDim: 8, ropeDimensionCount: 6, ropeFreqBase: 100, ropeStyle: "normal", scalingFactor: 1 };

  function rotateClosedForm(x: number[], position: number, pairs: [number, number][], parameters: RopeParameters): number[] {
    const out = [...x];
    pairs.forEach(([a, b], i) => {
      const factor = parameters.frequencyFactors?.[i] ?? 1;
      const theta = ((position / parameters.scalingFactor) * parameters.ropeFreqBase ** ((-2 * i) / parameters.ropeDimensionCount)) / factor;
      out[a] = x[a]! * Math.cos(theta) - x[b]! * Math.sin(theta);
      out[b] = x[a]! * Math.sin(theta) + x[b]! * Math.cos(theta);
    });
    return out;
  }

  const x = [0.3, -1.2, 0.7, 2.0, -0.4, 0.9, 1.5, -0.6];
  const cases: { name: string; parameters: RopeParameters; pairs: [number, number][] }[] = [
    { name: "normal pairs adjacent dims", parameters: base, pairs: [[0, 1], [2, 3], [4, 5]] },
    { name: "neox pairs half-split dims", parameters: { ...base, ropeStyle: "neox" }, pairs: [[0, 3], [1, 4], [2, 5]] },
    { name: "linear scaling divides positions", parameters: { ...base, scalingFactor: 4 }, pairs: [[0, 1], [2, 3], [4, 5]] },
    {
      name: "frequency factors divide angles",
      parameters: { ...base, frequencyFactors: new Float32Array([1, 2, 8]) },
      pairs: [[0, 1], [2, 3], [4, 5]],
    },
  ];

  for (const { name, parameters, pairs } of cases) {
    it(name, () => {
      // Two heads, two rows at positions 5 and 6; the second head is the first one negated.
      const rows = new Float32Array([...x, ...x.map((v) => -v), ...x, ...x.map((v) => -v)]);
      applyRope(rows, 2, 5, parameters, ropeInverseFrequencies(parameters));

      for (const [row, position] of [[0, 5], [1, 6]] as const) {
        const expected = rotateClosedForm(x, position, pairs, parameters);
        const head0 = Array.from(rows.subarray(row * 16, row * 16 + 8));
        const head1 = Array.from(rows.subarray(row * 16 + 8, row * 16 + 16));
        expect(maxAbsDifference(head0, expected)).toBeLessThan(1e-6);
        expect(maxAbsDifference(head1, expected.map((v) => -v))).toBeLessThan(1e-6);
        // Dimensions 6 and 7 are beyond ropeDimensionCount and stay unchanged.
        expect(head0[6]).toBeCloseTo(x[6]!, 7);
        expect(head0[7]).toBeCloseTo(x[7]!, 7);
      }
    });
  }

  it("leaves position 0 unchanged", () => {
    const row = new Float32Array(x);
    applyRope(row, 1, 0, base, ropeInverseFrequencies(base));
    expect(maxAbsDifference(row, new Float32Array(x))).toBe(0);
  });
});

describe("causalAttention", () => {
  /** Naive attention: full score matrix, -Infinity above the diagonal, softmax per row. */
  function naiveAttention(q: Float32Array, k: Float32Array, v: Float32Array, rows: number, heads: number, kvHeads: number, headDim: number): Float32Array {
    const out = new Float32Array(rows * heads * headDim);
    for (let h = 0; h < heads; h++) {
      const kvHead = Math.floor((h * kvHeads) / heads);
      for (let i = 0; i < rows; i++) {
        const scores: number[] = [];
        for (let j = 0; j < rows; j++) {
          let s = 0;
          for (let d = 0; d < headDim; d++) s += q[i * heads * headDim + h * headDim + d]! * k[j * kvHeads * headDim + kvHead * headDim + d]!;
          scores.push(j > i ? -Infinity : s / Math.sqrt(headDim));
        }
        const max = Math.max(...scores);
        const exps = scores.map((s) => Math.exp(s - max));
        const total = exps.reduce((a, b) => a + b, 0);
        for (let d = 0; d < headDim; d++) {
          let value = 0;
          for (let j = 0; j < rows; j++) value += (exps[j]! / total) * v[j * kvHeads * headDim + kvHead * headDim + d]!;
          out[i * heads * headDim + h * headDim + d] = value;
        }
      }
    }
    return out;
  }

  it("matches naive softmax attention", () => {
    const random = new Random(7);
    const [rows, heads, kvHeads, headDim] = [5, 6, 3, 4];
    const q = random.normalArray(rows * heads * headDim, 2);
    const k = random.normalArray(rows * kvHeads * headDim, 2);
    const v = random.normalArray(rows * kvHeads * headDim, 1);
    const cache = new KVCache(1, kvHeads * headDim, 16);
    cache.write(0, k, v);

    const out = causalAttention(q, cache, 0, 0, { headCount: heads, headCountKV: kvHeads, headDim });
    expect(maxAbsDifference(out, naiveAttention(q, k, v, rows, heads, kvHeads, headDim))).toBeLessThan(1e-5);
  });

  it("maps query heads to shared KV heads", () => {
    // Two KV heads with constant values 1 and 2; four query heads, so heads 0-1 read KV head 0.
    const [heads, kvHeads, headDim] = [4, 2, 2];
    const k = new Float32Array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]);
    const v = new Float32Array([1, 1, 2, 2, 1, 1, 2, 2]);
    const cache = new KVCache(1, kvHeads * headDim, 4);
    cache.write(0, k, v);
    const q = new Random(3).normalArray(2 * heads * headDim, 1);

    const out = causalAttention(q, cache, 0, 0, { headCount: heads, headCountKV: kvHeads, headDim });
    for (let row = 0; row < 2; row++) {
      for (let h = 0; h < heads; h++) {
        const expected = h < 2 ? 1 : 2;
        expect(out[row * 8 + h * 2]).toBeCloseTo(expected, 6);
        expect(out[row * 8 + h * 2 + 1]).toBeCloseTo(expected, 6);
      }
    }
  });

  it("first position attends only to itself", () => {
    const cache = new KVCache(1, 2, 4);
    cache.write(0, new Float32Array([1, 0, 0, 1]), new Float32Array([5, 6, 7, 8]));
    const out = causalAttention(new Float32Array([3, 3, 3, 3]), cache, 0, 0, { headCount: 1, headCountKV: 1, headDim: 2 });
    expect(out[0]).toBe(5);
    expect(out[1]).toBe(6);
  });
});

describe("KVCache", () => {
  it("grows and keeps earlier rows", () => {
    const cache = new KVCache(2, 3, 100);
    for (let step = 0; step < 40; step++) {
      const row = new Float32Array([step, step + 0.5, -step]);
      cache.write(0, row, row);
      cache.write(1, row, row.map((v) => v * 2));
      cache.commit(1);
    }
    expect(cache.length).toBe(40);
    expect(cache.layerKeys(0)[3 * 17]).toBe(17);
    expect(cache.layerValues(1)[3 * 39 + 1]).toBe(79);
    cache.clear();
    expect(cache.length).toBe(0);
  });
});

describe("roundActivationsLikeLlamaCpp", () => {
  it("rounds Q8_0 blocks per row", () => {
    // Row 0 block: max |x| = 127, so d = 1 and values round to integers. Row 1 is all zeros.
    const input = new Float32Array(64);
    input[0] = 127;
    input[1] = 1.4;
    input[2] = -0.6;
    const out = roundActivationsLikeLlamaCpp(input, 32, GGMLType.Q8_0);
    expect(out[0]).toBe(127);
    expect(out[1]).toBe(1);
    expect(out[2]).toBe(-1);
    expect(out[40]).toBe(0);
    expect(input[1]).toBeCloseTo(1.4, 6);
  });

  it("rounds Q8_K blocks with ties to even", () => {
    // Extreme -254 gives d = 2: x = 3 and x = 5 scale to 1.5 and 2.5, which both round to 2.
    const input = new Float32Array(256);
    input[0] = -254;
    input[1] = 3;
    input[2] = 5;
    input[3] = 7.2;
    const out = roundActivationsLikeLlamaCpp(input, 256, GGMLType.Q6_K);
    expect(out[0]).toBe(-254);
    expect(out[1]).toBe(4);
    expect(out[2]).toBe(4);
    expect(out[3]).toBe(8);
  });

  it("rounds to F16 and keeps F32", () => {
    const input = new Float32Array([1 / 3, 1000.3]);
    expect(roundActivationsLikeLlamaCpp(input, 2, GGMLType.F16)[0]).toBe(roundToF16(1 / 3));
    expect(roundActivationsLikeLlamaCpp(input, 2, GGMLType.F16)[1]).toBe(1000.5);
    expect(roundActivationsLikeLlamaCpp(input, 2, GGMLType.F32)).toBe(input);
    expect(roundActivationsLikeLlamaCpp(input, 2, undefined)).toBe(input);
  });
});
