// Entry of the demo page: probes WebGPU, loads the demo model, and wires the metric, evaluation
// and batch panels to the engine, which runs the model in a worker judge.
//
// Query parameters: backend=auto|webgpu|cpu (default auto), autoload=0 to skip loading the demo model.

import { BUILTIN_METRICS, type MetricDefinition } from "../metrics/index.js";
import { contentFromText, parseJsonField } from "./content.js";
import { CUSTOM_METRIC_EXAMPLE, parseCustomMetrics } from "./custom-metrics.js";
import { createEngine, type BackendPreference, type DeviceReport, type LoadedModelInfo } from "./engine.js";
import { registerServiceWorker } from "./offline.js";
import { setUpBatchPanel } from "./ui/batch-panel.js";
import { byId, describeError, element, showMessage } from "./ui/dom.js";
import { setUpModelPanel } from "./ui/model-panel.js";
import { renderResults } from "./ui/results-view.js";

/** Built-in metrics ticked at start: the ones that need only the pasted text. */
const DEFAULT_METRICS = ["toxicity", "prompt-injection", "pii"];

const params = new URLSearchParams(location.search);
const backendParam = params.get("backend");
const initialBackend: BackendPreference = backendParam === "cpu" || backendParam === "webgpu" ? backendParam : "auto";

const engine = createEngine();
let customMetrics: MetricDefinition[] = [];
let loaded: LoadedModelInfo | undefined;

const metricList = byId("metric-list");
const evaluateButton = byId<HTMLButtonElement>("run-evaluate");
const evaluateError = byId("evaluate-error");
const results = byId("results");

function addMetricCheckbox(definition: MetricDefinition, checked: boolean): void {
  const id = `metric-${definition.id}`;
  document.getElementById(id)?.parentElement?.remove();
  const row = element("div", { class: "metric" });
  const box = element("input", { type: "checkbox", id, value: definition.id });
  box.checked = checked;
  row.append(box, element("label", { for: id }, `${definition.id}: ${definition.description}`));
  metricList.append(row);
}

function selectedMetrics(): string[] {
  return [...metricList.querySelectorAll<HTMLInputElement>("input[type=checkbox]:checked")].map((box) => box.value);
}

for (const definition of Object.values(BUILTIN_METRICS)) addMetricCheckbox(definition, DEFAULT_METRICS.includes(definition.id));

/** Shown when a model load is attempted during a batch, because loading releases the model the batch uses. */
const BATCH_LOCK_MESSAGE = "A batch is running, and loading a model now would fail its remaining rows; wait for the batch to finish or cancel it, then load the model.";

const batch = setUpBatchPanel(engine, selectedMetrics, (running) => modelPanel.setLocked(running ? BATCH_LOCK_MESSAGE : undefined));

function setReady(ready: boolean): void {
  evaluateButton.disabled = !ready;
  batch.setReady(ready);
  document.body.dataset.state = ready ? "ready" : "loading";
}

const modelPanel = setUpModelPanel(
  engine,
  async (info) => {
    loaded = info;
    // Custom metrics belong to the previous model's engine state, so they are registered again.
    const customError = byId("custom-error");
    showMessage(customError, undefined);
    for (const definition of customMetrics) {
      try {
        await engine.registerMetric(definition);
      } catch (error) {
        showMessage(customError, `Custom metric ${definition.id} does not fit this model: ${describeError(error)}`);
      }
    }
    setReady(true);
  },
  initialBackend,
  () => setReady(false),
);

// Custom metrics: validated on this thread first, so mistakes show without a model loaded.
const customBox = byId<HTMLTextAreaElement>("custom-metrics");
customBox.value = JSON.stringify(CUSTOM_METRIC_EXAMPLE, null, 2);
byId("add-custom").addEventListener("click", async () => {
  const customError = byId("custom-error");
  const customStatus = byId("custom-status");
  showMessage(customError, undefined);
  customStatus.textContent = "";
  try {
    const definitions = parseCustomMetrics(customBox.value, document.baseURI);
    if (loaded) for (const definition of definitions) await engine.registerMetric(definition);
    const ids = new Set(definitions.map((definition) => definition.id));
    customMetrics = [...customMetrics.filter((definition) => !ids.has(definition.id)), ...definitions];
    for (const definition of definitions) addMetricCheckbox(definition, true);
    customStatus.textContent = definitions.length === 0 ? "The box is empty; nothing was added." : `Added ${definitions.map((definition) => definition.id).join(", ")}.`;
  } catch (error) {
    showMessage(customError, describeError(error));
  }
});

evaluateButton.addEventListener("click", async () => {
  showMessage(evaluateError, undefined);
  const metrics = selectedMetrics();
  if (metrics.length === 0) {
    showMessage(evaluateError, "No metric is selected; tick at least one metric.");
    return;
  }

  evaluateButton.disabled = true;
  results.setAttribute("aria-busy", "true");
  try {
    const content = contentFromText(byId<HTMLTextAreaElement>("content").value, {
      output: byId<HTMLTextAreaElement>("field-output").value,
      context: byId<HTMLTextAreaElement>("field-context").value,
      tools: parseJsonField(byId<HTMLTextAreaElement>("field-tools").value),
      toolCall: parseJsonField(byId<HTMLTextAreaElement>("field-tool-call").value),
    });
    const evaluated = await engine.evaluate(content, { metrics });
    renderResults(results, evaluated, loaded?.backend ?? "unknown");
  } catch (error) {
    showMessage(evaluateError, describeError(error));
  } finally {
    evaluateButton.disabled = false;
    results.setAttribute("aria-busy", "false");
  }
});

function showDevice(report: DeviceReport): void {
  const status = byId("device-status");
  const details = byId("device-details");
  if (!report.webgpu) {
    status.textContent = "WebGPU unavailable.";
    showMessage(
      byId("webgpu-unavailable"),
      `WebGPU unavailable: ${report.unavailableReason ?? "no adapter"}. The demo still works on the CPU reference forward pass, which is slower but fine for the demo model.`,
    );
    return;
  }

  const adapter = report.adapter!;
  status.textContent = "WebGPU available.";
  const rows: [string, string][] = [
    ["Adapter", [adapter.vendor, adapter.architecture, adapter.device, adapter.description].filter(Boolean).join(" / ") || "unknown"],
    ["16-bit floats (shader-f16)", report.shaderF16 ? "yes" : "no"],
    ["Software adapter", report.isSoftwareAdapter ? "yes" : "no"],
  ];
  details.replaceChildren(...rows.flatMap(([term, value]) => [element("dt", {}, term), element("dd", {}, value)]));
  details.hidden = false;
  byId("software-adapter").hidden = !report.isSoftwareAdapter;
}

async function start(): Promise<void> {
  setReady(false);
  try {
    showDevice(await engine.probeDevice());
  } catch (error) {
    showMessage(byId("webgpu-unavailable"), `The WebGPU check failed: ${describeError(error)}`);
  }
  if (params.get("autoload") !== "0") await modelPanel.loadPreset();
}

registerServiceWorker();
void start();
