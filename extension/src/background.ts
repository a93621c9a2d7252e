// The extension's background service worker. It adds the two context menu items, reads the text
// of a tab (selection or page) with chrome.scripting, and forwards it to the offscreen document,
// which runs the model. Each check's CheckReport goes back to the caller, into
// chrome.storage.session for the popup, and onto the toolbar badge.

// builtins.ts imports only types, so the worker's bundle stays free of model code. A service
// worker may not call import(), which the model code uses on its Node paths.
import { BUILTIN_METRICS } from "../../src/metrics/builtins.js";
import type { MetricDefinition } from "../../src/metrics/definition.js";
import type { MetricResult } from "../../src/metrics/pipeline.js";
import {
  DEFAULT_METRICS,
  excerptOf,
  isChannelClosedError,
  isRequestFor,
  ModelHostClosedError,
  prepareText,
  STORAGE_KEYS,
  toErrorReport,
  type CheckReport,
  type ErrorReport,
  type EvaluationReply,
  type HostStatus,
  type OffscreenRequest,
  type RegistrationReply,
  type TextSource,
} from "./messages.js";
import { pickTabText, readTabText, type TabText } from "./page-text.js";

const OFFSCREEN_PATH = "offscreen.html";
/** The context menu items: each checks the text of one source, and shows in the matching context. */
const MENU_ITEMS: Record<string, { title: string; source: TextSource; context: "selection" | "page" }> = {
  "tokenjudge-check-selection": { title: "Check selected text with tokenjudge", source: "selection", context: "selection" },
  "tokenjudge-check-page": { title: "Check this page with tokenjudge", source: "page", context: "page" },
};
/** Retries of a message to an offscreen document whose listener is not registered yet, 100 ms apart. */
const OFFSCREEN_CONNECT_ATTEMPTS = 50;

chrome.runtime.onInstalled.addListener(() => {
  chrome.contextMenus.removeAll(() => {
    for (const [id, item] of Object.entries(MENU_ITEMS)) chrome.contextMenus.create({ id, title: item.title, contexts: [item.context] });
  });
});

chrome.contextMenus.onClicked.addListener((info, tab) => {
  const source = MENU_ITEMS[String(info.menuItemId)]?.source;
  if (source === undefined || tab?.id === undefined) return;

  // The popup shows the report once it lands in chrome.storage.session. Opening it can fail (no
  // focused window, or a Chrome without action.openPopup); the badge still shows the outcome.
  chrome.action.openPopup?.().catch(() => undefined);
  void selectedMetrics().then((metrics) => checkTab(tab.id!, source, metrics, info.selectionText));
});

chrome.runtime.onMessage.addListener((message: unknown, _sender, sendResponse: (reply: HostStatus | RegistrationReply | CheckReport) => void) => {
  if (!isRequestFor(message, "background")) return false;

  let reply: Promise<HostStatus | RegistrationReply | CheckReport>;
  if (message.type === "status") reply = hostStatus();
  else if (message.type === "register-metrics") reply = registerMetrics(message.customMetrics);
  else reply = checkTab(message.tabId, message.source, message.metrics);
  void reply.then(sendResponse);
  // Keeps the message channel open until sendResponse runs.
  return true;
});

let creatingOffscreen: Promise<void> | undefined;

/** Creates the offscreen document unless it exists; concurrent callers share one creation. */
async function ensureOffscreenDocument(): Promise<void> {
  if (await chrome.offscreen.hasDocument()) return;
  creatingOffscreen ??= chrome.offscreen
    .createDocument({
      url: OFFSCREEN_PATH,
      reasons: [chrome.offscreen.Reason.WORKERS],
      justification: "Runs the tokenjudge model in a Web Worker, which a service worker cannot start.",
    })
    .finally(() => {
      creatingOffscreen = undefined;
    });
  await creatingOffscreen;
}

/** Sends `request` to the offscreen document, starting it first. */
async function sendToOffscreen<T>(request: OffscreenRequest): Promise<T> {
  await ensureOffscreenDocument();
  for (let attempt = 1; ; attempt++) {
    try {
      return (await chrome.runtime.sendMessage(request)) as T;
    } catch (error) {
      // The document exists but its module script has not added its listener yet.
      const notListening = /Receiving end does not exist/.test((error as Error).message);
      if (isChannelClosedError(error)) throw new ModelHostClosedError(request.type, { cause: error });
      if (!notListening || attempt >= OFFSCREEN_CONNECT_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** Returns the model host's state. A host whose model failed to load is closed, so the next request starts a new one. */
async function hostStatus(): Promise<HostStatus> {
  let status: HostStatus;
  try {
    status = await sendToOffscreen<HostStatus>({ target: "offscreen", type: "status" });
  } catch (error) {
    status = { state: "failed", error: toErrorReport(error) };
  }
  if (status.state === "failed") await chrome.offscreen.closeDocument().catch(() => undefined);
  return status;
}

async function registerMetrics(definitions: MetricDefinition[]): Promise<RegistrationReply> {
  try {
    return await sendToOffscreen<RegistrationReply>({ target: "offscreen", type: "register", customMetrics: definitions });
  } catch (error) {
    return { ok: false, error: toErrorReport(error) };
  }
}

async function selectedMetrics(): Promise<string[]> {
  const stored = (await chrome.storage.local.get(STORAGE_KEYS.selectedMetrics))[STORAGE_KEYS.selectedMetrics];
  return Array.isArray(stored) && stored.length > 0 ? (stored as string[]) : DEFAULT_METRICS;
}

async function customMetrics(): Promise<MetricDefinition[]> {
  const stored = (await chrome.storage.local.get(STORAGE_KEYS.customMetrics))[STORAGE_KEYS.customMetrics];
  return Array.isArray(stored) ? (stored as MetricDefinition[]) : [];
}

/**
 * Reads the selection or page text of tab `tabId` and evaluates it with `metrics`. Never rejects:
 * a failure is the report's `error`. `fallbackSelection` (the context menu's selectionText) is
 * used when the tab cannot be read, for example a selection inside a frame.
 */
async function checkTab(tabId: number, source: TextSource, metrics: string[], fallbackSelection?: string): Promise<CheckReport> {
  let tabText: TabText;
  try {
    // A selection may sit inside a frame, so a selection read runs in every frame the extension may access.
    const injections = await chrome.scripting.executeScript({ target: { tabId, allFrames: source === "selection" }, func: readTabText, args: [source] });
    tabText = pickTabText(injections.map((injection) => ({ frameId: injection.frameId, text: injection.result as TabText | undefined })));
    if (source === "selection" && tabText.text.trim() === "" && fallbackSelection) tabText = { ...tabText, text: fallbackSelection };
  } catch (error) {
    if (fallbackSelection === undefined) {
      const cause = toErrorReport(error).message;
      return finish({ source, characters: 0, cut: false, excerpt: "" }, undefined, {
        name: "TabReadError",
        message: `failed to read the text of this tab (${cause}); Chrome pages and the Chrome Web Store cannot be read, so open an ordinary web page`,
      });
    }
    tabText = { text: fallbackSelection, title: "", url: "" };
  }

  const { text, cut } = prepareText(tabText.text);
  const base: Omit<CheckReport, "checkedAt"> = { source, characters: text.length, cut, excerpt: excerptOf(text) };
  if (tabText.title) base.title = tabText.title;
  if (tabText.url) base.url = tabText.url;
  if (text === "") {
    const message = source === "selection" ? "no text is selected in this tab; select some text first, or check the whole page" : "this page has no visible text to check";
    return finish(base, undefined, { name: "EmptyTextError", message });
  }

  let reply: EvaluationReply;
  try {
    reply = await sendToOffscreen<EvaluationReply>({ target: "offscreen", type: "evaluate", text, metrics, customMetrics: await customMetrics() });
  } catch (error) {
    reply = { ok: false, error: toErrorReport(error) };
  }
  if (!reply.ok) return finish(base, undefined, reply.error);
  return finish(reply.failures === undefined ? { ...base, backend: reply.backend } : { ...base, backend: reply.backend, failures: reply.failures }, reply.results);
}

/** Completes the report, stores it for the popup and shows it on the badge. */
async function finish(base: Omit<CheckReport, "checkedAt">, results: MetricResult[] | undefined, error?: ErrorReport): Promise<CheckReport> {
  const report: CheckReport = { ...base, checkedAt: new Date().toISOString() };
  if (results !== undefined) report.results = results;
  if (error !== undefined) report.error = error;

  await chrome.storage.session.set({ [STORAGE_KEYS.lastReport]: report });
  await showOnBadge(report);
  return report;
}

/** Badge: the number of metrics whose verdict is their positive label, "OK" for none, "ERR" for a failed check. */
async function showOnBadge(report: CheckReport): Promise<void> {
  if (report.error !== undefined || report.results === undefined) {
    await chrome.action.setBadgeBackgroundColor({ color: "#a1261b" });
    await chrome.action.setBadgeText({ text: "ERR" });
    return;
  }

  const definitions = new Map<string, MetricDefinition>(Object.entries(BUILTIN_METRICS));
  for (const definition of await customMetrics()) definitions.set(definition.id, definition);
  const flagged = report.results.filter((result) => {
    const decision = definitions.get(result.metric)?.decision;
    return decision?.rule === "threshold" && result.verdict === decision.positive;
  }).length;

  await chrome.action.setBadgeBackgroundColor({ color: flagged > 0 ? "#a1261b" : "#2f6f3e" });
  await chrome.action.setBadgeText({ text: flagged > 0 ? String(flagged) : "OK" });
}
