// End to end in Chromium: the test page starts the worker runtime, loads a fixture model over HTTP
// from a Vite dev server on 127.0.0.1 and returns its logits, which must match the CPU reference.
// A second browser without --enable-unsafe-webgpu must report WebGPUUnavailableError.

import { existsSync } from "node:fs";
import { chromium, type Browser } from "playwright-core";
import type { ViteDevServer } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_FIXTURE_DIR, ensureFixture, fixtureUnavailableReason } from "../src/fixtures/registry.js";
import { GGUFFile } from "../src/gguf/reader.js";
import { openFileSource } from "../src/io/node-file.js";
import { LOAD_STAGES } from "../src/runtime/progress.js";
import { logSoftmax, ReferenceModel } from "../src/reference/index.js";
import type { PageResult } from "./page/main.js";
import { startE2EServer } from "./serve.js";

const CHROMIUM = "/usr/bin/chromium";
const FIXTURE = "stories260k";
const TOKENS = [1, 300, 45, 77, 260, 12, 400, 9, 33, 101, 5];
const TOP_K = 20;
const LOG_PROB_ATOL = 2e-3;
const PAGE_TIMEOUT_MS = 90_000;

// Flags for headless Chromium in a container. In Chromium 156 with SwiftShader, only
// --enable-unsafe-webgpu decides whether requestAdapter() returns an adapter.
const BASE_ARGS = [
  "--no-sandbox",
  "--disable-gpu-sandbox",
  "--headless=new",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

const skipReason = !existsSync(CHROMIUM) ? `${CHROMIUM} is missing` : fixtureUnavailableReason(FIXTURE);
if (skipReason) console.warn(`skipping e2e tests: ${skipReason}`);

/** Opens the test page in `browser` and waits for the outcome it stores in `window.tokenjudgeResult`. */
async function runPage(browser: Browser, pageUrl: string): Promise<PageResult> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(error.message));
  try {
    await page.goto(pageUrl);
    await page.waitForFunction(() => "tokenjudgeResult" in window, undefined, { timeout: PAGE_TIMEOUT_MS });
    return await page.evaluate(() => (window as unknown as { tokenjudgeResult: Promise<PageResult> }).tokenjudgeResult);
  } catch (error) {
    throw new Error(`the e2e page did not produce a result (${(error as Error).message}); page errors: ${errors.join("; ") || "none"}`);
  } finally {
    await page.close();
  }
}

describe.skipIf(skipReason !== undefined)("worker runtime in Chromium", () => {
  let server: ViteDevServer | undefined;
  let pageUrl = "";

  beforeAll(async () => {
    await ensureFixture(FIXTURE);
    const started = await startE2EServer(DEFAULT_FIXTURE_DIR);
    server = started.server;
    const query = new URLSearchParams({ model: `/models/${FIXTURE}.gguf`, tokens: JSON.stringify(TOKENS), topK: String(TOP_K) });
    pageUrl = `${started.url}e2e/page/index.html?${query}`;
  });
  afterAll(async () => {
    await server?.close();
  });

  it("logits match the CPU reference", async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...BASE_ARGS, "--enable-unsafe-webgpu"] });
    let result: PageResult;
    try {
      result = await runPage(browser, pageUrl);
    } finally {
      await browser.close();
    }
    if (!result.ok) throw new Error(`the page failed: ${result.name} (${result.code}): ${result.message}`);
    if (!("logProbs" in result)) throw new Error("the page ran the crash scenario instead of scoring");

    const source = await openFileSource(await ensureFixture(FIXTURE));
    let reference: ReferenceModel;
    try {
      reference = await ReferenceModel.load(await GGUFFile.open(source));
    } finally {
      await source.close?.();
    }
    const expected = logSoftmax(reference.forward(TOKENS).logits);
    const expectedTop = Array.from(expected.keys())
      .sort((a, b) => expected[b]! - expected[a]!)
      .slice(0, TOP_K);

    expect(result.top[0]?.token, "top-1 token").toBe(expectedTop[0]);
    const mismatches = expectedTop
      .filter((token) => !(Math.abs(result.logProbs[token]! - expected[token]!) <= LOG_PROB_ATOL))
      .map((token) => `(token ${token}, expected ${expected[token]}, actual ${result.logProbs[token]})`);
    expect(mismatches, `log-prob mismatches over the reference top ${TOP_K}`).toEqual([]);

    const stages = result.progress.map((report) => LOAD_STAGES.indexOf(report.status));
    expect(stages, "progress stages in order").toEqual([...stages].sort((a, b) => a - b));
    expect(result.progress.at(-1)?.status).toBe("ready");
  });

  it("worker crash rejects with WorkerCrashedError", async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: [...BASE_ARGS, "--enable-unsafe-webgpu"] });
    let result: PageResult;
    try {
      result = await runPage(browser, `${pageUrl}&scenario=crash`);
    } finally {
      await browser.close();
    }

    if (!result.ok) throw new Error(`the crash page failed: ${result.name}: ${result.message}`);
    if (!("crashed" in result)) throw new Error("the page did not run the crash scenario");
    expect(result.crashed.name).toBe("WorkerCrashedError");
    expect(result.crashed.typed).toBe(true);
    expect(result.crashed.message).toContain("worker script failed on purpose");
    expect(result.replacementWorks).toBe(true);
  });

  it("reports WebGPUUnavailableError without the flag", async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: BASE_ARGS });
    let result: PageResult;
    try {
      result = await runPage(browser, pageUrl);
    } finally {
      await browser.close();
    }

    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.name).toBe("WebGPUUnavailableError");
    expect(result.code).toBe("WEBGPU_UNAVAILABLE");
    expect(result.typed, "arrives as a TokenjudgeError instance").toBe(true);
  });
});
