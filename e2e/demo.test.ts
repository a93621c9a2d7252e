// The demo app in Chromium, served from a production build. It loads the generated demo model as
// the default preset, through the file picker, by drag and drop, and from a URL on the test's own
// server. Pasted text, real Davidson and HaluEval rows and a custom metric with a LoRA adapter get
// the same verdicts as from the Node CPU reference Judge, with no network request while
// evaluating. The page reloads offline from its service worker. In a browser started without
// WebGPU it shows a "WebGPU unavailable" message and runs on the CPU.

import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sha256Hex } from "../src/adapters/sha256.js";
import { parseCsv, readDavidsonRows, readHaluEvalRows, type EvalRow } from "../src/data/index.js";
import { DEFAULT_DEMO_FIXTURE, ensureFixture, fixtureUnavailableReason } from "../src/fixtures/registry.js";
import { GGUFFile } from "../src/gguf/reader.js";
import { openFileSource } from "../src/io/node-file.js";
import { Judge, TOXICITY, type MetricDefinition, type MetricResult } from "../src/metrics/index.js";
import { readModelConfig } from "../src/model/config.js";
import { writeFixtureAdapters } from "../src/oracle/adapter-folder.js";
import { BASE_ARGS, CHROMIUM, openReadyPage, READY_TIMEOUT_MS, REPO_ROOT, startDemoSite, waitForReady, WEBGPU_FLAG, type DemoSite } from "../tests/app/browser.js";
import { startFileServer, type FileServer } from "../tests/app/model-server.js";

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

const DAVIDSON = join(REPO_ROOT, "../shared/data/davidson/labeled_data.csv");
const HALUEVAL = join(REPO_ROOT, "../shared/data/halueval/general_data.json");
// Rows taken from the start of each file, enough to cover both readers and few enough for the CPU path on two shared cores.
const DAVIDSON_ROWS = 4;
const HALUEVAL_ROWS = 2;
const sharedDataMissing = [DAVIDSON, HALUEVAL].filter((path) => !existsSync(path));
if (!skipReason && sharedDataMissing.length > 0) console.warn(`skipping the demo's real-data test: missing ${sharedDataMissing.join(", ")}`);

/** Path of the demo model and of the LoRA adapter on the test's file server. */
const URL_MODEL_PATH = "/models/demo-from-url.gguf";
const ADAPTER_PATH = "/adapters/rude-adapter.gguf";

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

interface BatchLine {
  row: number;
  id?: string;
  label?: string;
  results?: MetricResult[];
  error?: { name: string; message: string };
}

/** Ticks exactly `metrics` in the metric list. */
async function selectMetrics(page: Page, metrics: string[]): Promise<void> {
  for (const box of await page.$$("#metric-list input[type=checkbox]")) {
    await box.setChecked(metrics.includes((await box.getAttribute("value")) ?? ""));
  }
}

/** Picks a batch file, runs every row and returns the downloaded JSONL lines. */
async function runBatch(page: Page, name: string, text: string, rowCount: number): Promise<BatchLine[]> {
  await page.evaluate(() => {
    document.getElementById("batch-download")!.hidden = true;
  });
  await page.setInputFiles("#batch-file", { name, mimeType: "application/octet-stream", buffer: Buffer.from(text) });
  await expect.poll(() => page.textContent("#batch-status")).toContain(`${name}: `);
  await page.click("#batch-run");
  await page.waitForSelector("#batch-download:not([hidden])", { timeout: RESULT_TIMEOUT_MS * rowCount });

  const href = await page.getAttribute("#batch-download", "href");
  const jsonl = await page.evaluate(async (url) => (await fetch(url!)).text(), href);
  return jsonl.trimEnd().split("\n").map((line) => JSON.parse(line) as BatchLine);
}

/** Waits until the model panel reports `name` loaded and the page is ready. */
async function waitForModel(page: Page, name: string, errors: string[]): Promise<void> {
  await page.waitForFunction((expected) => document.getElementById("model-status")?.textContent?.startsWith(`Loaded ${expected}:`), name, { timeout: READY_TIMEOUT_MS });
  await waitForReady(page, errors);
}

/** Returns the header and the first `count` data records of a CSV file, as CSV text. */
function firstCsvRecords(text: string, count: number): string {
  const records = parseCsv(text, "davidson");
  const endLine = records[count + 1]?.line;
  return endLine === undefined ? text : text.split("\n").slice(0, endLine - 1).join("\n") + "\n";
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

/** Checks that a page whose device panel found a WebGPU adapter also runs the model there, with no silent fallback. */
async function expectWebGPUWhenAvailable(page: Page): Promise<void> {
  if ((await page.textContent("#device-status")) !== "WebGPU available.") return;
  expect(await page.getAttribute("#backend-badge", "data-backend"), await page.textContent("#backend-badge") ?? "").toBe("webgpu");
}

async function tolerance(page: Page): Promise<number> {
  return (await page.getAttribute("#backend-badge", "data-backend")) === "webgpu" ? WEBGPU_PROBABILITY_ATOL : CPU_PROBABILITY_ATOL;
}

describe.skipIf(skipReason !== undefined)("demo app in Chromium", () => {
  let site: DemoSite | undefined;
  let files: FileServer;
  let adapterFolder: string;
  let modelPath: string;
  let judge: Judge;
  let reference: MetricResult[];
  let customReference: MetricResult;
  /** The custom metric as the page registers it, with its adapter on the test's file server. */
  let adapted: MetricDefinition;
  let adaptedReference: MetricResult;

  beforeAll(async () => {
    modelPath = await ensureFixture(DEFAULT_DEMO_FIXTURE);
    const source = await openFileSource(modelPath);
    const config = readModelConfig(await GGUFFile.open(source));
    await source.close?.();
    adapterFolder = await mkdtemp(join(tmpdir(), "tokenjudge-demo-adapter-"));
    const adapterFile = (await writeFixtureAdapters(config, adapterFolder, "demo-e2e", [{ metric: "rude-adapted", format: "gguf" }]))["rude-adapted"]!;
    const sha256 = await sha256Hex(new Uint8Array(await readFile(adapterFile)));
    files = await startFileServer({ [URL_MODEL_PATH]: modelPath, [ADAPTER_PATH]: adapterFile });

    const adapter = { sha256, mode: "activated", format: "gguf" } as const;
    adapted = { ...CUSTOM, id: "rude-adapted", adapter: { ...adapter, url: new URL(ADAPTER_PATH, files.url).href } };
    const adaptedInNode: MetricDefinition = { ...adapted, adapter: { ...adapter, file: adapterFile } };

    judge = await Judge.create({ model: modelPath, backend: "cpu", metrics: [...METRICS, "hallucination", CUSTOM, adaptedInNode] });
    reference = await judge.evaluate({ input: TEXT }, { metrics: METRICS });
    [customReference] = (await judge.evaluate({ input: TEXT }, { metrics: [CUSTOM.id] })) as [MetricResult];
    [adaptedReference] = (await judge.evaluate({ input: TEXT }, { metrics: [adapted.id] })) as [MetricResult];
    site = await startDemoSite();
  });
  afterAll(async () => {
    await site?.close();
    await files?.close();
    if (adapterFolder) await rm(adapterFolder, { recursive: true, force: true });
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
      expect(await page.textContent("#backend-badge")).toMatch(/^Backend: (WebGPU|CPU reference)/);
      await expectWebGPUWhenAvailable(page);
      expect(await page.isVisible("#synthetic-warning"), "random-weights warning").toBe(true);

      // Only metric selection, evaluation and rendering happen from here, all inside the page.
      const requests: string[] = [];
      page.context().on("request", (request) => requests.push(request.url()));
      const results = await evaluateOnPage(page);
      expect(requests, "network requests while evaluating").toEqual([]);

      expectMatchesReference(results, reference, await tolerance(page));
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
      // Registration runs in the judge worker, so the status appears after a round trip.
      await expect.poll(() => page.textContent("#custom-status"), { timeout: RESULT_TIMEOUT_MS }).toBe("Added rude.");
      expect(await page.isChecked("#metric-rude")).toBe(true);

      const results = await evaluateOnPage(page);
      expectMatchesReference(results, [...reference, customReference], await tolerance(page));
      expect(errors).toEqual([]);
      await page.context().close();
    });

    it("runs a custom metric with a LoRA adapter", async () => {
      const { page, errors } = await openReadyPage(browser, site!.url);
      await page.click("#metrics summary");
      await page.fill("#custom-metrics", JSON.stringify(adapted));
      await page.click("#add-custom");
      await expect.poll(() => page.textContent("#custom-status"), { timeout: RESULT_TIMEOUT_MS }).toBe("Added rude-adapted.");
      expect(files.requests, "adapter downloads").toContain(ADAPTER_PATH);
      await expectWebGPUWhenAvailable(page);
      await selectMetrics(page, [adapted.id]);

      // The adapter was downloaded at registration, so evaluating must not touch the network.
      const requests: string[] = [];
      page.context().on("request", (request) => requests.push(request.url()));
      const results = await evaluateOnPage(page);
      expect(requests, "network requests while evaluating").toEqual([]);

      expectMatchesReference(results, [adaptedReference], await tolerance(page));
      expect(adaptedReference.score, "the adapter changes the score").not.toBe(customReference.score);
      expect(errors).toEqual([]);
      await page.context().close();
    });

    it("evaluates a batch file and offers JSONL", async () => {
      const { page, errors } = await openReadyPage(browser, site!.url);
      const rows = [{ input: TEXT }, { context: "a row without input" }, { text: "an unknown key" }, { input: "Hello, how are you?" }];
      const outcomes = await runBatch(page, "rows.jsonl", rows.map((row) => JSON.stringify(row)).join("\n"), rows.length);

      expect(outcomes.map((outcome) => outcome.row)).toEqual([1, 2, 3, 4]);
      expect(outcomes[1]!.error?.name, "row without input").toBe("TemplateSlotError");
      expect(outcomes[2]!.error?.name, "row with an unknown key").toBe("DataRowError");
      expect(outcomes[2]!.error?.message).toContain("rows.jsonl: row 3 (line 3): text: unknown field");
      expect(outcomes[3]!.results?.map((result) => result.metric)).toEqual(METRICS);

      const firstRow = outcomes[0]!.results!.map(({ metric, verdict, probabilities }) => ({ metric, verdict, probabilities }));
      expectMatchesReference(firstRow, reference, await tolerance(page));
      expect(await page.textContent("#batch-status")).toBe("rows.jsonl: 4 of 4 rows evaluated, 2 failed.");
      expect(errors).toEqual([]);
      await page.context().close();
    });

    it("locks model loading during a batch", async () => {
      const { page, errors } = await openReadyPage(browser, site!.url);
      await selectMetrics(page, ["toxicity"]);
      const rowCount = 12;
      const text = Array.from({ length: rowCount }, (_, i) => JSON.stringify({ input: `Row ${i}: ${TEXT}` })).join("\n");
      await page.setInputFiles("#batch-file", { name: "lock.jsonl", mimeType: "application/octet-stream", buffer: Buffer.from(text) });
      await expect.poll(() => page.textContent("#batch-status")).toContain("lock.jsonl: ");
      await page.click("#batch-run");

      for (const control of ["#load-preset", "#load-url", "#model-file", "#backend"]) {
        expect(await page.isDisabled(control), `${control} during the batch`).toBe(true);
      }
      await page.waitForSelector("#batch-download:not([hidden])", { timeout: RESULT_TIMEOUT_MS * rowCount });
      for (const control of ["#load-preset", "#load-url", "#model-file", "#backend"]) {
        expect(await page.isDisabled(control), `${control} after the batch`).toBe(false);
      }
      expect(await page.isDisabled("#batch-run")).toBe(false);
      expect(await page.textContent("#batch-status")).toBe(`lock.jsonl: ${rowCount} of ${rowCount} rows evaluated.`);
      expect(errors).toEqual([]);
      await page.context().close();
    });

    it.skipIf(sharedDataMissing.length > 0)("evaluates real Davidson and HaluEval rows", async () => {
      const davidsonText = firstCsvRecords(await readFile(DAVIDSON, "utf8"), DAVIDSON_ROWS);
      const haluevalText = (await readFile(HALUEVAL, "utf8")).split("\n").slice(0, HALUEVAL_ROWS).join("\n") + "\n";
      const cases: [string, string, EvalRow[], string][] = [
        [basename(DAVIDSON), davidsonText, readDavidsonRows(davidsonText, "davidson").rows, "toxicity"],
        [basename(HALUEVAL), haluevalText, readHaluEvalRows(haluevalText, "halueval").rows, "hallucination"],
      ];

      const { page, errors } = await openReadyPage(browser, site!.url);
      const atol = await tolerance(page);
      for (const [name, text, rows, metric] of cases) {
        expect(rows.length, `${name} rows`).toBeGreaterThan(0);
        await selectMetrics(page, [metric]);
        const outcomes = await runBatch(page, name, text, rows.length);

        expect(outcomes.map((outcome) => [outcome.id, outcome.label]), `${name} ids and labels`).toEqual(rows.map((row) => [row.id, row.label]));
        for (const [i, row] of rows.entries()) {
          expect(outcomes[i]!.error, `${name} row ${row.row}`).toBeUndefined();
          const expected = await judge.evaluate(row.content, { metrics: [metric] });
          const actual = outcomes[i]!.results!.map(({ metric: id, verdict, probabilities }) => ({ metric: id, verdict, probabilities }));
          expectMatchesReference(actual, expected, atol);
        }
      }
      expect(errors).toEqual([]);
      await page.context().close();
    }, OFFLINE_TEST_TIMEOUT_MS);

    it("loads a model from a file, a drop and a URL", async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(`console error: ${message.text()}`);
      });
      await page.goto(`${site!.url}?autoload=0`);
      const modelUrl = new URL(URL_MODEL_PATH, files.url).href;

      // The file picker.
      await page.setInputFiles("#model-file", modelPath);
      await waitForModel(page, basename(modelPath), errors);
      await expectWebGPUWhenAvailable(page);
      expectMatchesReference(await evaluateOnPage(page), reference, await tolerance(page));

      // A drop: the page reads the File from the drop event's DataTransfer.
      const dataTransfer = await page.evaluateHandle(async (url) => {
        const blob = await (await fetch(url)).blob();
        const transfer = new DataTransfer();
        transfer.items.add(new File([blob], "dropped-demo.gguf"));
        return transfer;
      }, modelUrl);
      await page.dispatchEvent("#drop-zone", "drop", { dataTransfer });
      await waitForModel(page, "dropped-demo.gguf", errors);
      expectMatchesReference(await evaluateOnPage(page), reference, await tolerance(page));

      // A URL on another origin, downloaded with progress and stored in the model cache.
      await page.fill("#model-url", modelUrl);
      await page.click("#load-url");
      await waitForModel(page, modelUrl, errors);
      expect(files.requests.filter((path) => path === URL_MODEL_PATH).length, "model downloads").toBeGreaterThanOrEqual(2);
      expectMatchesReference(await evaluateOnPage(page), reference, await tolerance(page));

      expect(errors).toEqual([]);
      await context.close();
    }, OFFLINE_TEST_TIMEOUT_MS);

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
      expectMatchesReference(results, reference, await tolerance(page));
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
