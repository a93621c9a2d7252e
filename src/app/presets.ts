// Models the demo offers: the generated demo model (no download) and instruction-tuned GGUF files
// on the Hugging Face Hub, which the app downloads once and keeps in the model cache.

export interface ModelPreset {
  id: string;
  label: string;
  /** Absolute URL, or a path relative to the page. */
  url: string;
  /** File size in bytes, shown before the download; the progress bar uses the server's Content-Length. */
  bytes: number;
  quantization: string;
  /** True for the generated demo model, whose random weights give meaningless verdicts. */
  synthetic: boolean;
}

/**
 * The default: generated from a fixed seed at build or serve time, so it needs no download. The
 * demo Vite plugin defines VITE_DEMO_MODEL_VERSION, which changes whenever the generated file does.
 */
export const DEMO_PRESET: ModelPreset = {
  id: "demo",
  label: "Demo model (random weights, Qwen3 vocabulary)",
  url: `models/demo.gguf?v=${(import.meta.env?.VITE_DEMO_MODEL_VERSION as string | undefined) ?? "unversioned"}`,
  bytes: 0,
  quantization: "Q8_0",
  synthetic: true,
};

const HUB = "https://huggingface.co";

// NOTE: the SmolLM2 size is the Hub's listing (386 MB). The two Qwen sizes are estimates from the
// parameter counts at Q8_0 (about 8.5 bits per weight), so they may differ from the files by a few MB.
export const HUB_PRESETS: readonly ModelPreset[] = [
  {
    id: "qwen2.5-0.5b-instruct-q8_0",
    label: "Qwen2.5-0.5B-Instruct",
    url: `${HUB}/Qwen/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/qwen2.5-0.5b-instruct-q8_0.gguf`,
    bytes: 676_000_000,
    quantization: "Q8_0",
    synthetic: false,
  },
  {
    id: "qwen3-0.6b-q8_0",
    label: "Qwen3-0.6B",
    url: `${HUB}/Qwen/Qwen3-0.6B-GGUF/resolve/main/Qwen3-0.6B-Q8_0.gguf`,
    bytes: 639_000_000,
    quantization: "Q8_0",
    synthetic: false,
  },
  {
    id: "smollm2-360m-instruct-q8_0",
    label: "SmolLM2-360M-Instruct",
    url: `${HUB}/HuggingFaceTB/SmolLM2-360M-Instruct-GGUF/resolve/main/smollm2-360m-instruct-q8_0.gguf`,
    bytes: 386_000_000,
    quantization: "Q8_0",
    synthetic: false,
  },
];

export const ALL_PRESETS: readonly ModelPreset[] = [DEMO_PRESET, ...HUB_PRESETS];

/** Formats a byte count in decimal units (1 kB = 1000 B), e.g. "386 MB". */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB"];
  let value = bytes;
  let unit = "B";
  for (const next of units) {
    if (value < 1000) break;
    value /= 1000;
    unit = next;
  }
  return `${value >= 100 ? Math.round(value) : value.toFixed(1)} ${unit}`;
}
