// Report tables built from measured results, one function per table. A new measurement (such as
// the multi-metric run) adds its own function here and passes its table to the report writer.

import { BACKEND_NAMES } from "./backend.js";
import type { PrefillBenchResults } from "./prefill.js";
import type { ReportTable } from "./report.js";

const BACKEND_LABELS: Record<(typeof BACKEND_NAMES)[number], string> = {
  webgpu: "WebGPU (ours)",
  llamacpp: "llama.cpp CPU",
  reference: "TS reference",
};

/** Formats a byte count in MiB with one decimal. */
export function formatMiB(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** Formats milliseconds with three significant digits, or as whole milliseconds from 1000 up. */
export function formatMs(ms: number): string {
  return ms >= 1000 ? ms.toFixed(0) : ms.toPrecision(3);
}

/** Builds the prefill table: model, quant, tokens, backend, runs, median and min ms, tokens/s (from the median), top token. */
export function prefillTable(results: PrefillBenchResults): ReportTable {
  const rows = results.prefills.map((entry) => [
    entry.model,
    entry.quant,
    String(entry.tokens),
    BACKEND_LABELS[entry.backend],
    `${entry.warmup} + ${entry.samplesMs.length}`,
    formatMs(entry.medianMs),
    formatMs(Math.min(...entry.samplesMs)),
    entry.tokensPerSecond.toFixed(entry.tokensPerSecond >= 100 ? 0 : 2),
    String(entry.topToken),
  ]);

  const description = [
    "Median time of one prefill: the prompt evaluated from an empty cache up to the last position's " +
      "logits over the whole vocabulary. Runs: warm-up runs + timed runs. Tokens/s: prompt tokens over the median. Top token: the most likely " +
      "next token each backend found, which should agree across backends for the same model.",
  ];
  if (results.skipped.length > 0) description.push(`Not measured: ${results.skipped.join("; ")}.`);

  return {
    title: "Prefill",
    description,
    columns: [
      { header: "model", align: "left" },
      { header: "quant", align: "left" },
      { header: "tokens", align: "right" },
      { header: "backend", align: "left" },
      { header: "runs", align: "right" },
      { header: "median ms", align: "right" },
      { header: "min ms", align: "right" },
      { header: "tokens/s", align: "right" },
      { header: "top token", align: "right" },
    ],
    rows,
  };
}

/** Builds the load table: model load time per backend, file size, GPU memory of the weights, and backend settings. */
export function loadTable(results: PrefillBenchResults): ReportTable {
  return {
    title: "Model load",
    description: [
      "Load: from the file on disk to a model ready for its first forward pass (for WebGPU: header " +
        "parsing, weight upload and repacking, pipeline compilation). GPU weights: bytes of GPU buffers " +
        "the WebGPU model holds after loading.",
    ],
    columns: [
      { header: "model", align: "left" },
      { header: "quant", align: "left" },
      { header: "backend", align: "left" },
      { header: "file", align: "right" },
      { header: "load ms", align: "right" },
      { header: "GPU weights", align: "right" },
      { header: "settings", align: "left" },
    ],
    rows: results.loads.map((entry) => [
      entry.model,
      entry.quant,
      BACKEND_LABELS[entry.backend],
      formatMiB(entry.fileBytes),
      formatMs(entry.loadMs),
      entry.weightBytes === undefined ? "-" : formatMiB(entry.weightBytes),
      entry.settings,
    ]),
  };
}
