// The demo app in Chromium, served from a production build. It loads the generated demo model and
// evaluates pasted text with the same verdicts as the Node CPU reference Judge, with no network
// request while evaluating. It reloads offline from its service worker. In a browser started
// without WebGPU it shows a "WebGPU unavailable" message and runs on the CPU.

import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_DEMO_FIXTURE, ensureFixture, fixtureUnavailableReason } from "../src/fixtures/registry.js";
import { Judge, TOXICITY, type MetricDefinition, type MetricResult } from "../src/metrics/index.js";
import { BASE_ARGS, CHROMIUM, openReadyPage, REPO_ROOT, startDemoSite, waitForReady, WEBGPU_FLAG, type DemoSite } from "../tests/app/browser.js";

const TEXT = "You are a worthless idiot and I will find where you live.";
const METRICS = ["toxicity", "prompt-injection", "pii"];
const CUSTOM: MetricDefinition = { ...TOXICITY, id: "rude", description: "Whether the text is rude.", template: { ...TOXICITY.template, suffix: "Is the text above rude? Answer Yes or No." } };
const RESULT_TIMEOUT_MS = 60_000;
const SERVICE_WORKER_TIMEOUT_MS = 60_000;
const STEP_TIMEOUT_MS = 30_000;
// Two page loads plus the service worker install; slow when other test files share the two cores.
const OFFLINE_TEST_TIMEOUT_MS = 300_000;
// The WebGPU kernels and the CPU reference agree to about 1e-6 on this model, because float32 sums
// run in a different order. The CPU path in the browser runs the same code as Node.
const WEBGPU_PROBABILITY_ATOL = 1e-3;
const CPU_PROBABILITY_ATOL = 1e-9;

const skipReason = !existsSync(CHROMIUM) ? `${CHROMIUM} is missing` : fixtureUnavailableReason(DEFAULT_DEMO_FIXTURE);
if (skipReason) console.warn(`skipping demo e2e tests: ${skipReason}`);

interface PageResult {
  metric: string;
  verdict: string;
  probabilities: Record<string, number>;
}

/** Awaits `promise`, or throws an error that names `step` when it takes longer than `ms`. */
async function within<T>(step: string, promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${step} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Pastes TEXT, clicks Evaluate and reads the result cards. */
async function evaluateOnPage(page: Page): Promise<PageResult[]> {
  await page.fill("#content", TEXT);
  await page.evaluate(() => document.getElementById("results")!.replaceChildren());
  await page.click("#run-evaluate");
  await page.waitForSelector(".result", { timeout: RESULT_TIMEOUT_MS });
  return page.$$eval(".result", (cards) =>
    cards.map((card) => ({
      metric: card.getAttribute("data-metric") ?? "",
      verdict: card.getAttribute("data-verdict") ?? "",
      probabilities: JSON.parse(card.getAttribute("data-probabilities") ?? "{}") as Record<string, number>,
    })),
  );
}

function expectMatchesReference(actual: PageResult[], expected: MetricResult[], atol: number): void {
  expect(actual.map((result) => result.metric)).toEqual(expected.map((result) => result.metric));
  for (const [i, result] of actual.entries()) {
    const reference = expected[i]!;
    expect(result.verdict, `${result.metric} verdict`).toBe(reference.verdict);
    for (const [label, probability] of Object.entries(reference.probabilities)) {
      const difference = Math.abs(result.probabilities[label]! - probability);
      expect(difference, `${result.metric} ${label}: page ${result.probabilities[label]}, reference ${probability}`).toBeLessThanOrEqual(atol);
    }
  }
}

describe.skipIf(skipReason !== undefined)("demo app in Chromium", () => {
  let site: DemoSite | undefined;
  let reference: MetricResult[];
  let customReference: MetricResult;

  beforeAll(async () => {
    const judge = await Judge.create({ model: await ensureFixture(DEFAULT_DEMO_FIXTURE), backend: "cpu", metrics: [...METRICS, CUSTOM] });
    reference = await judge.evaluate({ input: TEXT }, { metrics: METRICS });
    [customReference] = (await judge.evaluate({ input: TEXT }, { metrics: [CUSTOM.id] })) as [MetricResult];
    site = await startDemoSite();
  });
  afterAll(async () => {
    await site?.close();
  });

  describe("with WebGPU", () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: [...BASE_ARGS, WEBGPU_FLAG] });
    });
    afterAll(async () => {
      await browser?.close();
    });

    it("evaluates like the Node reference", async () => {
      const { page, errors } = await openReadyPage(browser, site!.url);
      const backend = await page.getAttribute("#backend-badge", "data-backend");
      expect(await page.textContent("#backend-badge")).toMatch(/^Backend: (WebGPU|CPU reference)/);
      expect(await page.isVisible("#synthetic-warning"), "random-weights warning").toBe(true);

      // Only metric selection, evaluation and rendering happen from here, all inside the page.
      const requests: string[] = [];
      page.context().on("request", (request) => requests.push(request.url()));
      const results = await evaluateOnPage(page);
      expect(requests, "network requests while evaluating").toEqual([]);

      expectMatchesReference(results, reference, backend === "webgpu" ? WEBGPU_PROBABILITY_ATOL : CPU_PROBABILITY_ATOL);
      expect(errors).toEqual([]);

      await mkdir(join(REPO_ROOT, "test-results"), { recursive: true });
      await page.screenshot({ path: join(REPO_ROOT, "test-results", "demo.png"), fullPage: true });
      await page.context().close();
    });

    it("validates and runs a custom metric", async () => {
      const { page, errors } = await openReadyPage(browser, site!.url);
      await page.click("#metrics summary");

      await page.fill("#custom-metrics", '{ "id": "Bad Id" }');
      await page.click("#add-custom");
      await expect.poll(() => page.textContent("#custom-error")).toContain('MetricDefinitionError (METRIC_INVALID): metric "Bad Id": id:');

      await page.fill("#custom-metrics", JSON.stringify(CUSTOM));
      await page.click("#add-custom");
      // Registration runs in the engine worker, so the status appears after a round trip.
      await expect.poll(() => page.textContent("#custom-status"), { timeout: RESULT_TIMEOUT_MS }).toBe("Added rude.");
      expect(await page.isChecked("#metric-rude")).toBe(true);

      const results = await evaluateOnPage(page);
      const backend = await page.getAttribute("#backend-badge", "data-backend");
      expectMatchesReference(results, [...reference, customReference], backend === "webgpu" ? WEBGPU_PROBABILITY_ATOL : CPU_PROBABILITY_ATOL);
      expect(errors).toEqual([]);
      await page.context().close();
    });

    it("evaluates a batch file and offers JSONL", async () => {
      const { page, errors } = await openReadyPage(browser, site!.url);
      const rows = [{ input: TEXT }, { context: "a row without input" }, { text: "Hello, how are you?" }];
      await page.setInputFiles("#batch-file", { name: "rows.jsonl", mimeType: "application/x-ndjson", buffer: Buffer.from(rows.map((row) => JSON.stringify(row)).join("\n")) });
      await page.click("#batch-run");
      await page.waitForSelector("#batch-download:not([hidden])", { timeout: RESULT_TIMEOUT_MS * rows.length });

      const href = await page.getAttribute("#batch-download", "href");
      const text = await page.evaluate(async (url) => (await fetch(url!)).text(), href);
      const outcomes = text.trimEnd().split("\n").map((line) => JSON.parse(line) as { row: number; results?: MetricResult[]; error?: { name: string } });
      expect(outcomes.map((outcome) => outcome.row)).toEqual([1, 2, 3]);
      expect(outcomes[1]!.error?.name, "row without input").toBe("TemplateSlotError");
      expect(outcomes[2]!.results?.map((result) => result.metric)).toEqual(METRICS);

      const backend = await page.getAttribute("#backend-badge", "data-backend");
      const firstRow = outcomes[0]!.results!.map(({ metric, verdict, probabilities }) => ({ metric, verdict, probabilities }));
      expectMatchesReference(firstRow, reference, backend === "webgpu" ? WEBGPU_PROBABILITY_ATOL : CPU_PROBABILITY_ATOL);
      expect(await page.textContent("#batch-status")).toBe("rows.jsonl: 3 of 3 rows evaluated, 1 failed.");
      expect(errors).toEqual([]);
      await page.context().close();
    });

    it("reloads and evaluates offline", async () => {
      const { page, errors } = await openReadyPage(browser, site!.url);
      // The service worker activates (and claims the page) only after its install step has cached the precache list.
      await page.waitForFunction(() => navigator.serviceWorker.controller?.state === "activated", undefined, { timeout: SERVICE_WORKER_TIMEOUT_MS });

      // Stop the server as well as going offline, so only the caches can respond.
      await within("stopping the preview server", site!.close(), STEP_TIMEOUT_MS);
      site = undefined;
      await page.context().setOffline(true);
      await within("the offline reload", page.reload(), STEP_TIMEOUT_MS);
      await waitForReady(page, errors);

      expect(await page.textContent("#model-status")).toContain("from the model cache");
      const results = await evaluateOnPage(page);
      const backend = await page.getAttribute("#backend-badge", "data-backend");
      expectMatchesReference(results, reference, backend === "webgpu" ? WEBGPU_PROBABILITY_ATOL : CPU_PROBABILITY_ATOL);
      await page.context().close();
    }, OFFLINE_TEST_TIMEOUT_MS);
  });

  it("shows WebGPU unavailable and runs on the CPU without the flag", async () => {
    // The offline test above stops the shared site, so this test starts its own.
    const ownSite = site ?? (await startDemoSite());
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: BASE_ARGS });
    try {
      const { page, errors } = await openReadyPage(browser, ownSite.url);
      expect(await page.isVisible("#webgpu-unavailable")).toBe(true);
      expect(await page.textContent("#webgpu-unavailable")).toMatch(/^WebGPU unavailable: /);
      expect(await page.getAttribute("#backend-badge", "data-backend")).toBe("cpu");

      const results = await evaluateOnPage(page);
      expectMatchesReference(results, reference, CPU_PROBABILITY_ATOL);
      expect(errors, "console errors and page errors").toEqual([]);
    } finally {
      await browser.close();
      if (ownSite !== site) await ownSite.close();
    }
  });
});
