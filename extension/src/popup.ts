// Entry of the toolbar popup: metric choice, the two check buttons, the latest report (also one
// that the context menu started) and the custom-metrics box. The model runs elsewhere, so the popup
// sends each request to the background service worker, which forwards it to the offscreen document.
//
// Query parameter: tab=ID checks that tab instead of the active one. It is for popup.html opened
// in a tab of its own, where the active tab would be the popup itself.
//
// `body[data-state]` is "loading" until the model is loaded, then "ready", "checking" during a
// check, or "failed" when the model could not load.

import { parseCustomMetrics } from "../../src/app/custom-metrics.js";
import { renderResults } from "../../src/app/ui/results-view.js";
import { BUILTIN_METRICS } from "../../src/metrics/builtins.js";
import { templateSlots, type MetricDefinition } from "../../src/metrics/definition.js";
import {
  DEFAULT_METRICS,
  describeErrorReport,
  STORAGE_KEYS,
  toErrorReport,
  type BackgroundRequest,
  type CheckReport,
  type HostStatus,
  type RegistrationReply,
  type TextSource,
} from "./messages.js";

/** Returns the popup element with `id`; throws when popup.html lacks it. */
function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`popup.html has no element #${id}; popup.html and extension/src/popup.ts are out of sync`);
  return found as T;
}

/** Shows `message` in `target`, or hides it when `message` is undefined. */
function showMessage(target: HTMLElement, message: string | undefined): void {
  target.textContent = message ?? "";
  target.hidden = !message;
}

const metricList = byId<HTMLFieldSetElement>("metric-list");
const checkButtons = [byId<HTMLButtonElement>("check-selection"), byId<HTMLButtonElement>("check-page")];
const customBox = byId<HTMLTextAreaElement>("custom-metrics");

function send<T>(request: BackgroundRequest): Promise<T> {
  return chrome.runtime.sendMessage(request) as Promise<T>;
}

function setState(state: "loading" | "ready" | "checking" | "failed"): void {
  document.body.dataset.state = state;
  for (const button of checkButtons) button.disabled = state !== "ready";
}

/** Template slots of `definition` that the checked text cannot fill: every slot but `input`. */
function unfillableSlots(definition: MetricDefinition): string[] {
  return templateSlots(definition.template.content).filter((slot) => slot !== "input");
}

/** Built-in metrics the popup offers: those whose template needs only the checked text. */
function textMetrics(): MetricDefinition[] {
  return Object.values(BUILTIN_METRICS).filter((definition) => unfillableSlots(definition).length === 0);
}

/** Lists the text metrics and every custom metric. A custom metric that needs other slots is shown disabled. */
function renderMetricList(custom: MetricDefinition[], selected: string[]): void {
  const rows = [...textMetrics(), ...custom].map((definition) => {
    const unfillable = unfillableSlots(definition);
    const row = document.createElement("div");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.id = `metric-${definition.id}`;
    box.value = definition.id;
    box.disabled = unfillable.length > 0;
    box.checked = !box.disabled && selected.includes(definition.id);
    box.addEventListener("change", () => void chrome.storage.local.set({ [STORAGE_KEYS.selectedMetrics]: selectedMetrics() }));
    const label = document.createElement("label");
    label.htmlFor = box.id;
    const unavailable = unfillable.length > 0 ? ` (unavailable: its template needs ${unfillable.map((slot) => `{${slot}}`).join(", ")}, which page text cannot fill)` : "";
    label.textContent = ` ${definition.id}: ${definition.description}${unavailable}`;
    row.append(box, label);
    return row;
  });
  metricList.replaceChildren(metricList.querySelector("legend")!, ...rows);
}

function selectedMetrics(): string[] {
  return [...metricList.querySelectorAll<HTMLInputElement>("input[type=checkbox]:checked:not(:disabled)")].map((box) => box.value);
}

function showStatus(status: HostStatus): void {
  const modelStatus = byId("model-status");
  const unavailable = byId("webgpu-unavailable");
  if (status.webgpu === false) {
    showMessage(unavailable, `WebGPU unavailable: ${status.fallbackReason ?? "this browser gave the extension no WebGPU adapter"}. Checks run on the CPU reference forward pass, which is slower.`);
  } else if (status.backend === "cpu" && status.fallbackReason) {
    showMessage(unavailable, `WebGPU not used: ${status.fallbackReason}. Checks run on the CPU reference forward pass, which is slower.`);
  }

  if (status.state === "failed") {
    modelStatus.textContent = "No model loaded.";
    const cause = status.error ? ` ${describeErrorReport(status.error)}.` : "";
    showMessage(byId("model-error"), `The model failed to load.${cause} Reopen this popup to try again.`);
    setState("failed");
    return;
  }
  if (status.state === "ready") {
    modelStatus.dataset.backend = status.backend;
    modelStatus.textContent = `Model ready. Backend: ${status.backend === "webgpu" ? "WebGPU" : "CPU reference"}.`;
    setState("ready");
  }
}

function showReport(report: CheckReport): void {
  byId("report").hidden = false;
  const origin = report.source === "selection" ? "Selected text" : "Page text";
  const where = report.title || report.url ? ` from ${report.title || report.url}` : "";
  const cut = report.cut ? ", cut to its last part" : "";
  byId("report-source").textContent = `${origin}${where}: ${report.characters} characters${cut}, checked at ${new Date(report.checkedAt).toLocaleTimeString()}.`;
  byId("report-excerpt").textContent = report.excerpt;
  const failures = (report.failures ?? []).map((failure) => `${failure.metric} failed. ${describeErrorReport(failure.error)}`);
  const errors = report.error ? [describeErrorReport(report.error), ...failures] : failures;
  showMessage(byId("check-error"), errors.length > 0 ? errors.join("\n") : undefined);

  const results = byId("results");
  if (report.results) renderResults(results, report.results, report.backend ?? "unknown");
  else results.replaceChildren();
}

/** Returns the id of the tab to read: the `tab` query parameter, or the active tab of this window. */
async function targetTabId(): Promise<number> {
  const fromQuery = new URLSearchParams(location.search).get("tab");
  if (fromQuery !== null) {
    const id = Number(fromQuery);
    if (!Number.isInteger(id)) throw new Error(`the tab query parameter ${JSON.stringify(fromQuery)} is invalid; pass a tab id, an integer`);
    return id;
  }
  const [tab] = await chrome.tabs.query({ active: true, currentWindow: true });
  if (tab?.id === undefined) throw new Error("no active tab was found in this window; open a web page and try again");
  return tab.id;
}

async function check(source: TextSource): Promise<void> {
  const metrics = selectedMetrics();
  if (metrics.length === 0) {
    showReport({ source, characters: 0, cut: false, excerpt: "", checkedAt: new Date().toISOString(), error: { name: "InvalidInputError", message: "no metric is selected; tick at least one metric" } });
    return;
  }

  setState("checking");
  try {
    const report = await send<CheckReport>({ target: "background", type: "check-tab", tabId: await targetTabId(), source, metrics });
    showReport(report);
  } catch (error) {
    showReport({ source, characters: 0, cut: false, excerpt: "", checkedAt: new Date().toISOString(), error: toErrorReport(error) });
  } finally {
    setState("ready");
  }
}

/** Registers the box's metrics on the model (downloading their adapters), then saves them for later checks. */
async function saveCustomMetrics(): Promise<void> {
  const status = byId("custom-status");
  const errorBox = byId("custom-error");
  const saveButton = byId<HTMLButtonElement>("save-custom");
  status.textContent = "";
  showMessage(errorBox, undefined);
  saveButton.disabled = true;
  try {
    const definitions = parseCustomMetrics(customBox.value);
    if (definitions.length > 0) status.textContent = "Registering, and downloading adapters if there are any…";
    const reply = await send<RegistrationReply>({ target: "background", type: "register-metrics", customMetrics: definitions });
    if (!reply.ok) {
      status.textContent = "";
      showMessage(errorBox, `Not saved. ${describeErrorReport(reply.error)}`);
      return;
    }

    await chrome.storage.local.set({ [STORAGE_KEYS.customMetrics]: definitions });
    const selected = [...new Set([...selectedMetrics(), ...definitions.map((definition) => definition.id)])];
    renderMetricList(definitions, selected);
    await chrome.storage.local.set({ [STORAGE_KEYS.selectedMetrics]: selectedMetrics() });
    status.textContent = definitions.length === 0 ? "No custom metrics are saved." : `Saved ${definitions.map((definition) => definition.id).join(", ")}.`;
  } catch (error) {
    status.textContent = "";
    showMessage(errorBox, describeErrorReport(toErrorReport(error)));
  } finally {
    saveButton.disabled = false;
  }
}

async function start(): Promise<void> {
  setState("loading");
  const stored = await chrome.storage.local.get([STORAGE_KEYS.selectedMetrics, STORAGE_KEYS.customMetrics]);
  const custom = Array.isArray(stored[STORAGE_KEYS.customMetrics]) ? (stored[STORAGE_KEYS.customMetrics] as MetricDefinition[]) : [];
  const selected = Array.isArray(stored[STORAGE_KEYS.selectedMetrics]) ? (stored[STORAGE_KEYS.selectedMetrics] as string[]) : DEFAULT_METRICS;
  renderMetricList(custom, selected);
  if (custom.length > 0) customBox.value = JSON.stringify(custom, null, 2);

  const last = (await chrome.storage.session.get(STORAGE_KEYS.lastReport))[STORAGE_KEYS.lastReport] as CheckReport | undefined;
  if (last) showReport(last);
  // A context menu check finishes while the popup may already be open.
  chrome.storage.session.onChanged.addListener((changes) => {
    const change = changes[STORAGE_KEYS.lastReport];
    if (change?.newValue) showReport(change.newValue as CheckReport);
  });

  showStatus(await send<HostStatus>({ target: "background", type: "status" }));
}

checkButtons[0]!.addEventListener("click", () => void check("selection"));
checkButtons[1]!.addEventListener("click", () => void check("page"));
byId("save-custom").addEventListener("click", () => void saveCustomMetrics());

start().catch((error: unknown) => {
  showMessage(byId("model-error"), `The popup failed to start. ${describeErrorReport(toErrorReport(error))}`);
  setState("failed");
});
