// Shared setup of the browser tests of the demo app and the guardrail example: a production build
// in a temporary folder, served by `vite preview` on 127.0.0.1 (a free port), and Chromium flags.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { build, preview, type PreviewServer } from "vite";

export const CHROMIUM = "/usr/bin/chromium";
export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Headless Chromium flags for a container; add WEBGPU_FLAG to get a WebGPU adapter (SwiftShader
 * without a GPU). The host resolver rule fails every name lookup except the loopback ones, because
 * Chromium contacts Google hosts on its own, and those requests would show up in the privacy checks.
 */
export const BASE_ARGS = [
  "--no-sandbox",
  "--headless=new",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
];
export const WEBGPU_FLAG = "--enable-unsafe-webgpu";

/** Time for the page to load the demo model and report ready; the CPU path on two shared cores is the slow case. */
export const READY_TIMEOUT_MS = 120_000;

export interface DemoSite {
  url: string;
  close(): Promise<void>;
}

/** Builds the demo into a temporary folder and serves it with `vite preview`. */
export async function startDemoSite(): Promise<DemoSite> {
  const outDir = await mkdtemp(join(tmpdir(), "tokenjudge-demo-"));
  const configFile = join(REPO_ROOT, "vite.config.ts");
  // Vitest sets NODE_ENV=test, and Vite then builds with import.meta.env.PROD false, which turns
  // off the service worker. The build must get the environment of `npm run build`.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = "production";
  try {
    await build({ root: REPO_ROOT, configFile, mode: "production", logLevel: "error", build: { outDir, emptyOutDir: true } });
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }

  let server: PreviewServer;
  try {
    server = await preview({ root: REPO_ROOT, configFile, logLevel: "error", build: { outDir }, preview: { host: "127.0.0.1", port: 0, strictPort: false, open: false } });
  } catch (error) {
    await rm(outDir, { recursive: true, force: true });
    throw error;
  }

  const url = server.resolvedUrls?.local[0];
  const close = async (): Promise<void> => {
    await server.close();
    await rm(outDir, { recursive: true, force: true });
  };
  if (!url) {
    await close();
    throw new Error("vite preview started without a local URL");
  }
  return { url, close };
}

/** Opens `url` in a new context and waits until the page marks `body[data-state=ready]`. Collects console errors and page errors. */
export async function openReadyPage(browser: Browser, url: string): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console error: ${message.text()}`);
  });

  await page.goto(url);
  await waitForReady(page, errors);
  return { page, errors };
}

/** Waits for `body[data-state=ready]`; on timeout the error lists the page's errors and status lines. */
export async function waitForReady(page: Page, errors: string[]): Promise<void> {
  try {
    await page.waitForSelector("body[data-state=ready]", { timeout: READY_TIMEOUT_MS });
  } catch (error) {
    const status = await page
      .evaluate(() => [...document.querySelectorAll("[role=status], [role=alert]")].map((node) => node.textContent?.trim()).filter(Boolean).join(" | "))
      .catch(() => "unavailable");
    throw new Error(`the page did not become ready (${(error as Error).message}); status: ${status}; errors: ${errors.join("; ") || "none"}`);
  }
}
