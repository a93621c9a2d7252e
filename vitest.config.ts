import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts", "e2e/**/*.test.ts"],
    reporters: ["default", "./tests/summary-reporter.ts"],
    // Dawn (the `webgpu` package) and node-llama-cpp load native addons: separate processes keep
    // them apart, and two workers match a two-core machine.
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    // Browser tests on a software WebGPU adapter take minutes when both cores are busy.
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
