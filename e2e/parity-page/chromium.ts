// Scores parity cases through the worker runtime in headless Chromium (SwiftShader WebGPU): one
// browser, one page and one Vite dev server on 127.0.0.1 for every model. The models are served
// from a temporary directory of symbolic links, so files outside fixtures/ (the shared tiny model)
// need no copy.

import { existsSync } from "node:fs";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type Browser } from "playwright-core";
import type { ViteDevServer } from "vite";

import type { GPUCaseScores, ParityCase } from "../../src/oracle/webgpu-parity.js";
import { startE2EServer } from "../serve.js";
import type { PageCase, PageScores, ParityPageApi } from "./main.js";

/** Debian's chromium package. */
export const CHROMIUM_PATH = "/usr/bin/chromium";

// Headless Chromium in a container. --enable-unsafe-webgpu is what makes requestAdapter() return
// the SwiftShader adapter there.
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu-sandbox",
  "--headless=new",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--enable-unsafe-webgpu",
];

const PAGE_READY_TIMEOUT_MS = 60_000;

export interface ChromiumParityJob {
  fixture: string;
  /** Path of the GGUF file on this machine. */
  path: string;
  cases: readonly ParityCase[];
}

/** A job's outcome: the scores of every case in order, or why the page produced none. */
export type ChromiumParityOutcome = { scores: GPUCaseScores[] } | { error: string };

export interface ChromiumParityOptions {
  executablePath?: string;
  /** Called after each job, for progress output. */
  onJobDone?: (fixture: string, outcome: ChromiumParityOutcome) => void;
}

/** Returns why the Chromium parity run cannot start here, or undefined when it can. */
export function chromiumUnavailableReason(executablePath = CHROMIUM_PATH): string | undefined {
  return existsSync(executablePath) ? undefined : `${executablePath} is missing; install Debian's chromium package`;
}

/** Runs every job in one headless Chromium page and returns one outcome per job, in order. */
export async function scoreInChromium(jobs: readonly ChromiumParityJob[], options: ChromiumParityOptions = {}): Promise<ChromiumParityOutcome[]> {
  const executablePath = options.executablePath ?? CHROMIUM_PATH;
  const unavailable = chromiumUnavailableReason(executablePath);
  if (unavailable) throw new Error(`cannot run the Chromium parity check: ${unavailable}`);

  const modelDirectory = await mkdtemp(join(tmpdir(), "tokenjudge-parity-"));
  let server: { server: ViteDevServer; url: string } | undefined;
  let browser: Browser | undefined;
  try {
    // Step 1: serve /models/<fixture>.gguf from links to each job's file.
    for (const job of jobs) await symlink(resolve(job.path), join(modelDirectory, `${job.fixture}.gguf`));
    server = await startE2EServer(modelDirectory);
    browser = await chromium.launch({ executablePath, args: CHROMIUM_ARGS });

    // Step 2: open the page and wait for its API.
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(`${server.url}e2e/parity-page/index.html`);
    try {
      await page.waitForFunction(() => "tokenjudgeParity" in window, undefined, { timeout: PAGE_READY_TIMEOUT_MS });
    } catch (error) {
      throw new Error(`the parity page did not start within ${PAGE_READY_TIMEOUT_MS} ms (${(error as Error).message}); page errors: ${pageErrors.join("; ") || "none"}`);
    }

    // Step 3: one evaluate call per model. The page keeps its runtime between calls.
    const outcomes: ChromiumParityOutcome[] = [];
    for (const job of jobs) {
      const cases: PageCase[] = job.cases.map((c) => ({ tokens: c.tokens, ids: c.ids }));
      const result = await page.evaluate(
        ({ url, pageCases }) => (window as unknown as { tokenjudgeParity: ParityPageApi }).tokenjudgeParity.score(url, pageCases),
        { url: `/models/${job.fixture}.gguf`, pageCases: cases },
      );
      const outcome = toOutcome(result, pageErrors);
      outcomes.push(outcome);
      options.onJobDone?.(job.fixture, outcome);
    }
    return outcomes;
  } finally {
    await browser?.close();
    await server?.server.close();
    await rm(modelDirectory, { recursive: true, force: true });
  }
}

function toOutcome(result: PageScores, pageErrors: readonly string[]): ChromiumParityOutcome {
  if (result.ok) return { scores: result.scores };
  const errors = pageErrors.length > 0 ? `; page errors: ${pageErrors.join("; ")}` : "";
  return { error: `${result.name}${result.code ? ` (${result.code})` : ""}: ${result.message}${errors}` };
}
