// The model panel: preset list, URL field, file picker and drop zone, backend choice, load
// progress (bytes and stage) and the loaded model's summary.

import type { BackendPreference, Engine, EngineProgress, LoadedModelInfo, ModelRequest } from "../engine.js";
import { ALL_PRESETS, DEMO_PRESET, formatBytes, type ModelPreset } from "../presets.js";
import { acceptDrops, byId, describeError, element, showMessage } from "./dom.js";

export interface ModelPanel {
  /** Loads the preset with `id` (the demo model by default). */
  loadPreset(id?: string): Promise<LoadedModelInfo | undefined>;
  /**
   * Disables every way to load a model while `reason` is set, and a load attempt then shows `reason`
   * instead of starting. Pass undefined to enable loading again.
   */
  setLocked(reason: string | undefined): void;
}

const STAGE_TEXT: Record<EngineProgress["stage"], string> = {
  download: "Downloading",
  cached: "Read from the model cache",
  weights: "Loading weights",
  compile: "Compiling GPU pipelines",
  ready: "Ready",
};

/**
 * Wires the model panel to `engine`. `onLoadStart` runs when a load starts, because the engine
 * releases the previous model then, and `onLoaded` runs after every successful load.
 */
export function setUpModelPanel(
  engine: Engine,
  onLoaded: (info: LoadedModelInfo, synthetic: boolean) => Promise<void> | void,
  initialBackend: BackendPreference,
  onLoadStart: () => void = () => undefined,
): ModelPanel {
  const presetList = byId("preset-list");
  const backendSelect = byId<HTMLSelectElement>("backend");
  const cancelButton = byId<HTMLButtonElement>("cancel-load");
  const progressBox = byId("load-progress");
  const progressBar = byId<HTMLProgressElement>("load-bar");
  const stageText = byId("load-stage");
  const status = byId("model-status");
  const badge = byId("backend-badge");
  const syntheticWarning = byId("synthetic-warning");
  const errorBox = byId("model-error");
  backendSelect.value = initialBackend;

  for (const preset of ALL_PRESETS) {
    const id = `preset-${preset.id}`;
    const option = element("div", { class: "preset" });
    const radio = element("input", { type: "radio", name: "preset", id, value: preset.id });
    radio.checked = preset === DEMO_PRESET;
    const size = preset.synthetic ? "generated locally, no download" : `about ${formatBytes(preset.bytes)}, downloaded once and cached`;
    option.append(radio, element("label", { for: id }, `${preset.label} (${preset.quantization}, ${size})`));
    presetList.append(option);
  }

  let controller: AbortController | undefined;
  let lockReason: string | undefined;
  const loadControls = [byId<HTMLButtonElement>("load-preset"), byId<HTMLButtonElement>("load-url"), byId<HTMLInputElement>("model-file"), backendSelect];

  const load = async (request: ModelRequest, label: string, synthetic: boolean): Promise<LoadedModelInfo | undefined> => {
    if (lockReason !== undefined) {
      showMessage(errorBox, lockReason);
      return undefined;
    }
    controller?.abort();
    const current = new AbortController();
    controller = current;
    onLoadStart();
    showMessage(errorBox, undefined);
    progressBox.hidden = false;
    cancelButton.hidden = false;
    progressBar.value = 0;
    stageText.textContent = "Starting";
    status.textContent = `Loading ${label}…`;

    const onProgress = (progress: EngineProgress): void => {
      if (controller !== current) return;
      const known = progress.total > 0;
      if (known) progressBar.value = progress.loaded / progress.total;
      else progressBar.removeAttribute("value");
      const bytes = progress.stage === "download" || progress.stage === "weights" ? `: ${formatBytes(progress.loaded)}${known ? ` of ${formatBytes(progress.total)}` : ""}` : "";
      stageText.textContent = `${STAGE_TEXT[progress.stage]}${bytes}`;
    };

    try {
      const info = await engine.load(request, { backend: backendSelect.value as BackendPreference, onProgress, signal: current.signal });
      if (controller !== current) return undefined;
      status.textContent = `Loaded ${info.name}: ${info.architecture}, ${formatBytes(info.bytes)}, context ${info.contextLength} tokens${info.fromCache ? ", from the model cache" : ""}.`;
      badge.hidden = false;
      badge.dataset.backend = info.backend;
      badge.textContent = info.backend === "webgpu" ? "Backend: WebGPU" : `Backend: CPU reference${info.fallbackReason ? ` (WebGPU not used: ${info.fallbackReason})` : ""}`;
      syntheticWarning.hidden = !synthetic;
      if (info.cacheWarning) showMessage(errorBox, info.cacheWarning);
      await onLoaded(info, synthetic);
      return info;
    } catch (error) {
      if (controller !== current) return undefined;
      status.textContent = "No model loaded.";
      showMessage(errorBox, current.signal.aborted ? "Loading was cancelled." : `Loading ${label} failed: ${describeError(error)}`);
      return undefined;
    } finally {
      if (controller === current) {
        controller = undefined;
        cancelButton.hidden = true;
        progressBox.hidden = true;
      }
    }
  };

  const loadPreset = (id?: string): Promise<LoadedModelInfo | undefined> => {
    const selected = id ?? presetList.querySelector<HTMLInputElement>('input[name="preset"]:checked')?.value ?? DEMO_PRESET.id;
    const preset: ModelPreset = ALL_PRESETS.find((candidate) => candidate.id === selected) ?? DEMO_PRESET;
    const url = new URL(preset.url, document.baseURI).href;
    return load({ kind: "url", url, name: preset.label }, preset.label, preset.synthetic);
  };

  byId("load-preset").addEventListener("click", () => void loadPreset());
  cancelButton.addEventListener("click", () => controller?.abort());

  byId("load-url").addEventListener("click", () => {
    const text = byId<HTMLInputElement>("model-url").value.trim();
    let url: URL;
    try {
      url = new URL(text, document.baseURI);
    } catch {
      showMessage(errorBox, `"${text}" is not a valid URL; enter an http or https address of a .gguf file`);
      return;
    }
    void load({ kind: "url", url: url.href }, url.href, false);
  });

  const loadFile = (file: File): void => {
    if (!file.name.toLowerCase().endsWith(".gguf")) {
      showMessage(errorBox, `${file.name} is not a .gguf file; choose a GGUF model file`);
      return;
    }
    void load({ kind: "file", file, name: file.name }, file.name, false);
  };
  byId<HTMLInputElement>("model-file").addEventListener("change", (event) => {
    const file = (event.target as HTMLInputElement).files?.[0];
    if (file) loadFile(file);
  });
  acceptDrops(byId("drop-zone"), loadFile);

  const setLocked = (reason: string | undefined): void => {
    const previous = lockReason;
    lockReason = reason;
    for (const control of loadControls) control.disabled = reason !== undefined;
    // The message of a refused load goes away with the lock.
    if (reason === undefined && previous !== undefined && errorBox.textContent === previous) showMessage(errorBox, undefined);
  };

  return { loadPreset, setLocked };
}
