// Shared pieces of the GPU kernel tests: WebGPU setup that skips with a printed reason when no
// adapter exists, a seeded random source, and a tolerance check that reports mismatches.
//
// API:
//   const gpu = await openTestContext();          // { ctx?: GPUContext, skipReason?: string }
//   describe.skipIf(!gpu.ctx)("...", () => { afterAll(() => gpu.ctx?.dispose()); ... });
//   const random = createRandom(seed);            // random.float(lo, hi), random.int(lo, hi), random.floats(n, lo, hi)
//   expectClose(actual, expected, TOLERANCES.x, { caseParams });  // throws with the first mismatches

import { existsSync } from "node:fs";
import { assert } from "vitest";
import { GPUContext } from "../../src/gpu/context.js";
import type { Tolerance } from "./tolerances.js";

/** The SwiftShader Vulkan driver that Debian's chromium package installs. */
export const SWIFTSHADER_ICD = "/usr/lib/chromium/vk_swiftshader_icd.json";

/**
 * Points Dawn at SwiftShader when VK_ICD_FILENAMES is unset and the driver file exists, so the
 * GPU tests run on machines without a GPU. Must run before the first adapter request.
 */
export function configureSoftwareVulkan(): void {
  if (process.env.VK_ICD_FILENAMES === undefined && existsSync(SWIFTSHADER_ICD)) {
    process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  }
}

export interface TestGPU {
  ctx?: GPUContext;
  skipReason?: string;
}

/** Creates a GPUContext for a test file, or returns why none is available and prints it. */
export async function openTestContext(): Promise<TestGPU> {
  configureSoftwareVulkan();
  try {
    return { ctx: await GPUContext.create() };
  } catch (error) {
    const skipReason = `WebGPU tests skipped: ${(error as Error).message}`;
    console.warn(skipReason);
    return { skipReason };
  }
}

/** Deterministic random numbers (mulberry32) so failures reproduce from the seed. */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [lo, hi). */
  float(lo: number, hi: number): number;
  /** Uniform integer in [lo, hi], both ends included. */
  int(lo: number, hi: number): number;
  /** `n` values uniform in [lo, hi). */
  floats(n: number, lo?: number, hi?: number): Float32Array;
  /** Standard normal values (Box-Muller), scaled by `scale`. */
  normals(n: number, scale?: number): Float32Array;
}

export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  return {
    next,
    float: (lo, hi) => lo + (hi - lo) * next(),
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    floats(n, lo = -1, hi = 1) {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * next();
      return out;
    },
    normals(n, scale = 1) {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const u = Math.max(next(), 1e-12);
        out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
      }
      return out;
    },
  };
}

export interface CloseReport {
  mismatches: number;
  maxAbsError: number;
  /** Empty when every value is within tolerance. */
  text: string;
}

/**
 * Compares element by element with |actual - expected| <= atol + rtol * |expected|. NaN in either
 * array is a mismatch. The report lists the first `maxListed` mismatches and the case parameters.
 */
export function compareClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: Tolerance,
  caseParams: Record<string, unknown>,
  maxListed = 5,
): CloseReport {
  const params = JSON.stringify(caseParams);
  if (actual.length !== expected.length) {
    return { mismatches: -1, maxAbsError: NaN, text: `length mismatch: actual ${actual.length}, expected ${expected.length}; case ${params}` };
  }

  let mismatches = 0;
  let maxAbsError = 0;
  const lines: string[] = [];
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    const error = Math.abs(a - e);
    if (error > maxAbsError || Number.isNaN(error)) maxAbsError = error;
    if (!(error <= tolerance.atol + tolerance.rtol * Math.abs(e))) {
      mismatches++;
      if (lines.length < maxListed) lines.push(`  index ${i}: expected ${e}, actual ${a}, |diff| ${error}`);
    }
  }
  if (mismatches === 0) return { mismatches, maxAbsError, text: "" };

  const text =
    `${mismatches} of ${expected.length} values outside atol ${tolerance.atol} + rtol ${tolerance.rtol} * |expected| ` +
    `(max |diff| ${maxAbsError}); case ${params}\n${lines.join("\n")}`;
  return { mismatches, maxAbsError, text };
}

/** Fails the test with the mismatch report when any value is outside the tolerance. */
export function expectClose(
  actual: ArrayLike<number>,
  expected: ArrayLike<number>,
  tolerance: Tolerance,
  caseParams: Record<string, unknown>,
): void {
  const report = compareClose(actual, expected, tolerance, caseParams);
  if (report.text) assert.fail(report.text);
}
