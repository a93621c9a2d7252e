// The browser extension, built and loaded unpacked in headless Chromium. Text selected in a test
// page on 127.0.0.1 is checked through the popup page (chrome-extension://ID/popup.html), which
// sends the same check-tab message the context menu's handler runs. The verdicts must equal the
// Node CPU reference Judge's, with no network request outside the extension while evaluating.
// Without --enable-unsafe-webgpu the popup shows "WebGPU unavailable" and still returns verdicts from the CPU.

/// <reference types="chrome" />

import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page, type Worker } from "playwright-core";
import { build } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_DEMO_FIXTURE, ensureFixture, fixtureUnavailableReason } from "../src/fixtures/registry.js";
import { ggufLoraAdapterInput, randomLora } from "../src/adapters/fixtures.js";
import { GGUFFile } from "../src/gguf/reader.js";
import { writeGGUF } from "../src/gguf/writer.js";
import { openFileSource } from "../src/io/node-file.js";
import { BUILTIN_METRICS, Judge, TOXICITY, type MetricDefinition, type MetricResult } from "../src/metrics/index.js";
import { readModelConfig } from "../src/model/config.js";
import { prepareText } from "../extension/src/messages.js";
import { BASE_ARGS, CHROMIUM, REPO_ROOT, WEBGPU_FLAG } from "../tests/app/browser.js";

const TEXT = "You are a worthless idiot and I will find where you live.";
const METRICS = ["toxicity", "prompt-injection", "pii"];
const ADAPTER_PATH = "/adapters/rude.gguf";
const LONG_TEXT_REPEATS = 300;
// Loading the model on the CPU, or compiling the WebGPU pipelines on SwiftShader, on two shared cores.
const READY_TIMEOUT_MS = 180_000;
const RESULT_TIMEOUT_MS = 120_000;
// See e2e/demo.test.ts: WebGPU and the CPU reference agree to about 1e-6 on this model, and the
// CPU path in the browser runs the same code as Node.
const WEBGPU_PROBABILITY_ATOL = 1e-3;
const CPU_PROBABILITY_ATOL = 1e-9;

const skipReason = !existsSync(CHROMIUM) ? `${CHROMIUM} is missing` : fixtureUnavailableReason(DEFAULT_DEMO_FIXTURE);
if (skipReason) console.warn(`skipping extension e2e tests: ${skipReason}`);

interface CardResult {
  metric: string;
  verdict: string;
  probabilities: Record<string, number>;
}

/** A loaded extension: its browser context, its background service worker and its id. */
interface LoadedExtension {
  context: BrowserContext;
  background: Worker;
  id: string;
  /** Closes the browser and returns the network requests its net log recorded. */
  close(): Promise<NetworkRequest[]>;
}

/** One request the browser's network stack started, from Chromium's net log. */
interface NetworkRequest {
  url: string;
  /** The requesting origin; "not an origin" for the browser's own requests. */
  initiator: string;
  /** Milliseconds since the epoch. */
  time: number;
}

/**
 * Reads the URL requests from a net log (--log-net-log), which covers every renderer, worker and
 * the browser itself, unlike Playwright's request events, which miss the offscreen document.
 * Event times are milliseconds after `constants.timeTickOffset`, itself milliseconds since the epoch.
 */
async function readNetLog(path: string): Promise<NetworkRequest[]> {
  const log = JSON.parse(await readFile(path, "utf8")) as {
    constants: { logEventTypes: Record<string, number>; timeTickOffset: string | number };
    events: { type: number; time: string; params?: { url?: string; initiator?: string } }[];
  };
  const startJob = log.constants.logEventTypes["URL_REQUEST_START_JOB"];
  const offset = Number(log.constants.timeTickOffset);
  return log.events
    .filter((event) => event.type === startJob && event.params?.url !== undefined)
    .map((event) => ({ url: event.params!.url!, initiator: event.params!.initiator ?? "", time: offset + Number(event.time) }));
}

/**
 * Builds the extension into a temporary folder. The copy the tests load also gets host access to
 * http://127.0.0.1 in place of the activeTab grant that a user's click on the toolbar button or the
 * context menu gives, because a test cannot click browser UI.
 */
async function buildExtension(): Promise<string> {
  const outDir = await mkdtemp(join(tmpdir(), "tokenjudge-extension-"));
  // Vitest sets NODE_ENV=test; the build must get the environment of `npm run build:extension`.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = "production";
  try {
    await build({ configFile: join(REPO_ROOT, "vite.extension.config.ts"), mode: "production", logLevel: "error", build: { outDir, emptyOutDir: true } });
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }

  const manifestPath = join(outDir, "manifest.json");
  const manifest = JSON.parse(await readFile(manifestPath, "utf8")) as Record<string, unknown>;
  await writeFile(manifestPath, JSON.stringify({ ...manifest, host_permissions: ["http://127.0.0.1/*"] }, null, 2));
  return outDir;
}

interface TestSite {
  server: Server;
  /** The page with TEXT in a paragraph. */
  url: string;
  /** A page whose only content is an iframe of `url`. */
  framedUrl: string;
  /** A page with LONG_TEXT_REPEATS copies of TEXT, long enough that a check takes a while. */
  longUrl: string;
  /** URL of the adapter file, served with CORS headers for the extension's origin. */
  adapterUrl: string;
  /** Requests for the adapter so far. */
  adapterRequests: number;
}

/** Serves the test page and `adapter` on 127.0.0.1 (a free port). */
async function startTestSite(adapter: Uint8Array): Promise<TestSite> {
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Extension test page</title></head><body><h1>Comments</h1><p id="comment">${TEXT}</p></body></html>`;
  const site = { adapterRequests: 0 } as TestSite;
  site.server = createServer((request, response) => {
    if (request.url === ADAPTER_PATH) {
      site.adapterRequests++;
      response.setHeader("Access-Control-Allow-Origin", "*");
      response.setHeader("Content-Type", "application/octet-stream");
      response.end(adapter);
      return;
    }
    if (request.url === "/long") {
      response.setHeader("Content-Type", "text/html; charset=utf-8");
      response.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Long test page</title></head><body><p id="comment">${`${TEXT} `.repeat(LONG_TEXT_REPEATS)}</p></body></html>`);
      return;
    }
    if (request.url === "/framed") {
      response.setHeader("Content-Type", "text/html; charset=utf-8");
      response.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Framed test page</title></head><body><iframe id="frame" src="/"></iframe></body></html>`);
      return;
    }
    if (request.url !== "/") {
      response.statusCode = 404;
      response.end();
      return;
    }
    response.setHeader("Content-Type", "text/html; charset=utf-8");
    response.end(html);
  });
  await new Promise<void>((resolve) => site.server.listen(0, "127.0.0.1", resolve));
  site.url = `http://127.0.0.1:${(site.server.address() as AddressInfo).port}/`;
  site.adapterUrl = new URL(ADAPTER_PATH, site.url).href;
  site.framedUrl = new URL("/framed", site.url).href;
  site.longUrl = new URL("/long", site.url).href;
  return site;
}

/** Returns a random LoRA adapter for the demo model as GGUF bytes. Gain 4 moves the toxicity score from about 0.99 to about 0.2. */
async function demoAdapter(): Promise<Uint8Array> {
  const file = await GGUFFile.open(await openFileSource(await ensureFixture(DEFAULT_DEMO_FIXTURE)));
  try {
    const config = readModelConfig(file);
    return writeGGUF(ggufLoraAdapterInput(randomLora(config, { seed: "extension-adapter", rank: 4, gain: 4 }), config.architecture));
  } finally {
    await file.source.close?.();
  }
}

async function launchWithExtension(extensionDir: string, webgpu: boolean): Promise<LoadedExtension> {
  const work = await mkdtemp(join(tmpdir(), "tokenjudge-extension-profile-"));
  const netLog = join(work, "net-log.json");
  const args = [
    ...BASE_ARGS,
    `--disable-extensions-except=${extensionDir}`,
    `--load-extension=${extensionDir}`,
    `--log-net-log=${netLog}`,
    // Host names other than the test page's fail without a DNS query, so Chromium's own background
    // requests (account and update checks) never leave the machine.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
  ];
  // headless: false because BASE_ARGS already passes --headless=new, the mode that runs extensions.
  const context = await chromium.launchPersistentContext(join(work, "profile"), { executablePath: CHROMIUM, headless: false, args: webgpu ? [...args, WEBGPU_FLAG] : args });
  const background = context.serviceWorkers()[0] ?? (await context.waitForEvent("serviceworker"));
  const id = new URL(background.url()).host;
  return {
    context,
    background,
    id,
    close: async () => {
      try {
        await context.close();
        return await readNetLog(netLog);
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    },
  };
}

/**
 * Opens `url` in a new tab and selects the paragraph (inside the page's first iframe when `inFrame`),
 * then returns the page and its tab id. The tab is the one that appears in chrome.tabs while the
 * page opens, because chrome.tabs gives the extension the URL only of tabs it has host access to.
 */
async function openSelectedText(extension: LoadedExtension, url: string, inFrame = false): Promise<{ page: Page; tabId: number }> {
  const listTabIds = (): Promise<number[]> => extension.background.evaluate(async () => (await chrome.tabs.query({})).map((tab) => tab.id!));
  const before = new Set(await listTabIds());
  const page = await extension.context.newPage();
  await page.goto(url);
  const frame = inFrame ? page.mainFrame().childFrames()[0] : page.mainFrame();
  if (frame === undefined) throw new Error(`${url} has no iframe to select text in`);
  await frame.evaluate(() => {
    const range = document.createRange();
    range.selectNodeContents(document.getElementById("comment")!);
    window.getSelection()!.removeAllRanges();
    window.getSelection()!.addRange(range);
  });

  const opened = (await listTabIds()).filter((id) => !before.has(id));
  expect(opened, `tabs opened for ${url}`).toHaveLength(1);
  return { page, tabId: opened[0]! };
}

/** Opens popup.html for tab `tabId` and waits until the model is loaded. Collects console and page errors. */
async function openPopup(extension: LoadedExtension, tabId: number): Promise<{ popup: Page; errors: string[] }> {
  const popup = await extension.context.newPage();
  const errors: string[] = [];
  popup.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
  popup.on("console", (message) => {
    if (message.type() === "error") errors.push(`console error: ${message.text()}`);
  });

  await popup.goto(`chrome-extension://${extension.id}/popup.html?tab=${tabId}`);
  try {
    await popup.waitForSelector("body[data-state=ready]", { timeout: READY_TIMEOUT_MS });
  } catch (error) {
    const status = await popup.evaluate(() => [...document.querySelectorAll("[role=status], [role=alert]")].map((node) => node.textContent?.trim()).filter(Boolean).join(" | "));
    throw new Error(`the popup did not become ready (${(error as Error).message}); status: ${status}; errors: ${errors.join("; ") || "none"}`);
  }
  return { popup, errors };
}

/** Clicks the check button `button` and reads the result cards. */
async function runCheck(popup: Page, button: "#check-selection" | "#check-page"): Promise<CardResult[]> {
  await popup.evaluate(() => document.getElementById("results")!.replaceChildren());
  await popup.click(button);
  await popup.waitForSelector(".result, #check-error:not([hidden])", { timeout: RESULT_TIMEOUT_MS });
  const failure = await popup.textContent("#check-error");
  expect(failure, "check error shown in the popup").toBe("");
  return popup.$$eval(".result", (cards) =>
    cards.map((card) => ({
      metric: card.getAttribute("data-metric") ?? "",
      verdict: card.getAttribute("data-verdict") ?? "",
      probabilities: JSON.parse(card.getAttribute("data-probabilities") ?? "{}") as Record<string, number>,
    })),
  );
}

function expectMatchesReference(actual: CardResult[], expected: MetricResult[], atol: number): void {
  expect(actual.map((result) => result.metric)).toEqual(expected.map((result) => result.metric));
  for (const [i, result] of actual.entries()) {
    const reference = expected[i]!;
    expect(result.verdict, `${result.metric} verdict`).toBe(reference.verdict);
    for (const [label, probability] of Object.entries(reference.probabilities)) {
      const difference = Math.abs(result.probabilities[label]! - probability);
      expect(difference, `${result.metric} ${label}: extension ${result.probabilities[label]}, reference ${probability}`).toBeLessThanOrEqual(atol);
    }
  }
}

describe.skipIf(skipReason !== undefined)("browser extension in Chromium", () => {
  let extensionDir: string;
  let testPage: TestSite;
  let reference: MetricResult[];
  let adapterMetric: MetricDefinition;
  let adapterReference: MetricResult;
  let judge: Judge;

  beforeAll(async () => {
    const adapter = await demoAdapter();
    testPage = await startTestSite(adapter);
    adapterMetric = {
      ...TOXICITY,
      id: "rude-lora",
      description: "Toxicity with a random LoRA adapter.",
      adapter: { url: testPage.adapterUrl, sha256: createHash("sha256").update(adapter).digest("hex"), mode: "activated", format: "gguf" },
    };

    judge = await Judge.create({ model: await ensureFixture(DEFAULT_DEMO_FIXTURE), backend: "cpu", metrics: [...METRICS, adapterMetric] });
    reference = await judge.evaluate({ input: TEXT }, { metrics: METRICS });
    [adapterReference] = (await judge.evaluate({ input: TEXT }, { metrics: [adapterMetric.id] })) as [MetricResult];
    // The adapter must move the score, or a check that ignored it would pass too.
    expect(Math.abs(adapterReference.score - reference[0]!.score), "score change from the adapter").toBeGreaterThan(0.1);
    extensionDir = await buildExtension();
  });
  afterAll(async () => {
    await new Promise((resolve) => testPage?.server.close(resolve));
    if (extensionDir) await rm(extensionDir, { recursive: true, force: true });
  });

  it("checks selection like the Node reference", async () => {
    const extension = await launchWithExtension(extensionDir, true);
    let checkStart = 0;
    let checkEnd = 0;
    let requests: NetworkRequest[];
    try {
      const { page, tabId } = await openSelectedText(extension, testPage.url);
      const { popup, errors } = await openPopup(extension, tabId);
      const backend = await popup.getAttribute("#model-status", "data-backend");
      expect(backend).toMatch(/^(webgpu|cpu)$/);

      checkStart = Date.now();
      const results = await runCheck(popup, "#check-selection");
      checkEnd = Date.now();

      expectMatchesReference(results, reference, backend === "webgpu" ? WEBGPU_PROBABILITY_ATOL : CPU_PROBABILITY_ATOL);
      expect(await popup.textContent("#report-excerpt")).toBe(TEXT);
      expect(await popup.textContent("#report-source")).toContain(`Selected text from Extension test page: ${TEXT.length} characters, checked at `);

      // Both context menu items exist: updating an unknown item id fails with "Cannot find menu item".
      const menuErrors = await extension.background.evaluate(async () => {
        const update = (id: string): Promise<string> =>
          new Promise((resolve) => chrome.contextMenus.update(id, {}, () => resolve(chrome.runtime.lastError?.message ?? "")));
        return [await update("tokenjudge-check-selection"), await update("tokenjudge-check-page"), await update("no-such-item")];
      });
      expect(menuErrors.slice(0, 2), "context menu update errors").toEqual(["", ""]);
      expect(menuErrors[2], "the check can fail").not.toBe("");

      // The background stored the report for the popup's next opening and set the badge.
      const stored = await extension.background.evaluate(async () => (await chrome.storage.session.get("lastReport"))["lastReport"] as { results?: { verdict: string }[] });
      expect(stored.results?.map((result) => result.verdict)).toEqual(reference.map((result) => result.verdict));
      const flagged = reference.filter((result) => {
        const decision = BUILTIN_METRICS[result.metric]!.decision;
        return decision.rule === "threshold" && result.verdict === decision.positive;
      }).length;
      expect(await extension.background.evaluate(() => chrome.action.getBadgeText({}))).toBe(flagged > 0 ? String(flagged) : "OK");
      expect(errors).toEqual([]);

      await mkdir(join(REPO_ROOT, "test-results"), { recursive: true });
      await popup.locator("body").screenshot({ path: join(REPO_ROOT, "test-results", "extension-popup.png") });

      // "Check page" evaluates the page's visible text, prepared as the extension prepares it.
      const pageText = prepareText(await page.evaluate(() => document.body.innerText)).text;
      expect(pageText).toContain(TEXT);
      const pageReference = await judge.evaluate({ input: pageText }, { metrics: METRICS });
      expectMatchesReference(await runCheck(popup, "#check-page"), pageReference, backend === "webgpu" ? WEBGPU_PROBABILITY_ATOL : CPU_PROBABILITY_ATOL);
      expect(await popup.textContent("#report-source")).toContain(`Page text from Extension test page: ${pageText.length} characters, checked at `);
    } finally {
      requests = await extension.close();
    }

    // The log works, because it contains the test page's own request.
    expect(requests.map((request) => request.url)).toContain(testPage.url);
    // The extension loads its model and code from its own package, which the network stack never handles.
    expect(requests.filter((request) => request.initiator.startsWith("chrome-extension://")), "requests started by the extension").toEqual([]);
    // Chromium's own requests ("not an origin") go nowhere under --host-resolver-rules and are left out.
    const duringCheck = requests.filter((request) => request.time >= checkStart && request.time <= checkEnd && request.initiator !== "not an origin");
    expect(duringCheck, "network requests while evaluating").toEqual([]);
  });

  it("caches an adapter in IndexedDB", async () => {
    const extension = await launchWithExtension(extensionDir, true);
    try {
      const { tabId } = await openSelectedText(extension, testPage.url);
      const { popup, errors } = await openPopup(extension, tabId);
      const backend = await popup.getAttribute("#model-status", "data-backend");
      const atol = backend === "webgpu" ? WEBGPU_PROBABILITY_ATOL : CPU_PROBABILITY_ATOL;
      const downloadsBefore = testPage.adapterRequests;

      // Saving registers the metric, so the adapter is downloaded now rather than during a check.
      await popup.click("#custom summary");
      await popup.fill("#custom-metrics", JSON.stringify(adapterMetric));
      await popup.click("#save-custom");
      await expect.poll(() => popup.textContent("#custom-status"), { timeout: RESULT_TIMEOUT_MS }).toBe("Saved rude-lora.");
      expect(await popup.textContent("#custom-error")).toBe("");
      expect(testPage.adapterRequests - downloadsBefore, "adapter downloads on save").toBe(1);
      expect(await popup.isChecked("#metric-rude-lora")).toBe(true);

      const cachedKeys = await popup.evaluate(
        () =>
          new Promise<string[]>((resolve, reject) => {
            const open = indexedDB.open("tokenjudge-adapters");
            open.onerror = () => reject(open.error);
            open.onsuccess = () => {
              const request = open.result.transaction("entries").objectStore("entries").getAllKeys();
              request.onerror = () => reject(request.error);
              request.onsuccess = () => resolve(request.result.map(String));
            };
          }),
      );
      expect(cachedKeys).toContain(`data:${adapterMetric.adapter!.url}#${adapterMetric.adapter!.sha256}`);

      expectMatchesReference(await runCheck(popup, "#check-selection"), [...reference, adapterReference], atol);
      expect(testPage.adapterRequests - downloadsBefore, "adapter downloads after a check").toBe(1);

      // A new offscreen document loads the model again and reads the adapter from IndexedDB.
      await extension.background.evaluate(() => chrome.offscreen.closeDocument());
      expectMatchesReference(await runCheck(popup, "#check-selection"), [...reference, adapterReference], atol);
      expect(testPage.adapterRequests - downloadsBefore, "adapter downloads after the model host restarted").toBe(1);
      expect(errors).toEqual([]);
    } finally {
      await extension.close();
    }
  });

  it("checks a selection inside an iframe", async () => {
    const extension = await launchWithExtension(extensionDir, true);
    try {
      const { tabId } = await openSelectedText(extension, testPage.framedUrl, true);
      const { popup, errors } = await openPopup(extension, tabId);
      const backend = await popup.getAttribute("#model-status", "data-backend");
      const results = await runCheck(popup, "#check-selection");
      expectMatchesReference(results, reference, backend === "webgpu" ? WEBGPU_PROBABILITY_ATOL : CPU_PROBABILITY_ATOL);
      expect(await popup.textContent("#report-excerpt")).toBe(TEXT);
      expect(await popup.textContent("#report-source")).toContain(`Selected text from Framed test page: ${TEXT.length} characters`);
      expect(errors).toEqual([]);
    } finally {
      await extension.close();
    }
  });

  it("disables a metric that needs output", async () => {
    const extension = await launchWithExtension(extensionDir, true);
    try {
      const { tabId } = await openSelectedText(extension, testPage.url);
      const { popup, errors } = await openPopup(extension, tabId);
      const needsOutput: MetricDefinition = { ...TOXICITY, id: "needs-output", template: { ...TOXICITY.template, content: "Text:\n{input}\nReply:\n{output}" } };
      await popup.click("#custom summary");
      await popup.fill("#custom-metrics", JSON.stringify([needsOutput]));
      await popup.click("#save-custom");
      await expect.poll(() => popup.textContent("#custom-status"), { timeout: RESULT_TIMEOUT_MS }).toBe("Saved needs-output.");
      expect(await popup.isDisabled("#metric-needs-output")).toBe(true);
      expect(await popup.isChecked("#metric-needs-output")).toBe(false);
      expect(await popup.textContent("label[for=metric-needs-output]")).toContain("its template needs {output}, which page text cannot fill");

      // A check after saving evaluates the ticked built-ins and leaves the disabled metric out.
      const results = await runCheck(popup, "#check-selection");
      expect(results.map((result) => result.metric)).toEqual(METRICS);
      expect(errors).toEqual([]);
    } finally {
      await extension.close();
    }
  });

  it("reports an offscreen document closed mid-check", async () => {
    const extension = await launchWithExtension(extensionDir, true);
    try {
      const { tabId } = await openSelectedText(extension, testPage.longUrl);
      const { popup, errors } = await openPopup(extension, tabId);
      await popup.click("#check-page");
      // The check is expected to reach the offscreen document within this delay, and evaluating the long page takes longer.
      await new Promise((resolve) => setTimeout(resolve, 500));
      await extension.background.evaluate(() => chrome.offscreen.closeDocument());
      await popup.waitForSelector("#check-error:not([hidden])", { timeout: RESULT_TIMEOUT_MS });
      expect(await popup.textContent("#check-error")).toMatch(/^ModelHostClosedError \(MODEL_HOST_CLOSED\): the model's offscreen document closed before the "evaluate" request finished; run the check again/);

      // The next check starts a new offscreen document. The old error is hidden first, because
      // runCheck waits for either results or a shown error.
      await popup.waitForSelector("body[data-state=ready]", { timeout: READY_TIMEOUT_MS });
      await popup.evaluate(() => {
        const errorBox = document.getElementById("check-error")!;
        errorBox.textContent = "";
        errorBox.hidden = true;
      });
      const results = await runCheck(popup, "#check-selection");
      expect(results.map((result) => result.metric)).toEqual(METRICS);
      expect(errors).toEqual([]);
    } finally {
      await extension.close();
    }
  });

  it("reports an unreadable tab", async () => {
    const extension = await launchWithExtension(extensionDir, true);
    try {
      // The test copy has host access to 127.0.0.1 only, so the same page under localhost is off limits.
      const { tabId } = await openSelectedText(extension, testPage.url.replace("127.0.0.1", "localhost"));
      const { popup, errors } = await openPopup(extension, tabId);
      await popup.click("#check-selection");
      await popup.waitForSelector("#check-error:not([hidden])", { timeout: RESULT_TIMEOUT_MS });
      expect(await popup.textContent("#check-error")).toMatch(/^TabReadError: failed to read the text of this tab \(.+\); Chrome pages/);
      expect(await popup.$$(".result")).toHaveLength(0);
      expect(errors).toEqual([]);
    } finally {
      await extension.close();
    }
  });

  it("falls back to the CPU without WebGPU", async () => {
    const extension = await launchWithExtension(extensionDir, false);
    try {
      const { tabId } = await openSelectedText(extension, testPage.url);
      const { popup, errors } = await openPopup(extension, tabId);
      expect(await popup.isVisible("#webgpu-unavailable")).toBe(true);
      expect(await popup.textContent("#webgpu-unavailable")).toMatch(/^WebGPU unavailable: /);
      expect(await popup.getAttribute("#model-status", "data-backend")).toBe("cpu");

      const results = await runCheck(popup, "#check-selection");
      expectMatchesReference(results, reference, CPU_PROBABILITY_ATOL);
      expect(errors, "console errors and page errors").toEqual([]);

      await mkdir(join(REPO_ROOT, "test-results"), { recursive: true });
      await popup.locator("body").screenshot({ path: join(REPO_ROOT, "test-results", "extension-popup-cpu.png") });
    } finally {
      await extension.close();
    }
  });
});
