// The batch panel: a CSV or JSONL file of rows, evaluated one row at a time with progress and
// cancel, and the outcomes offered as a JSONL download. Invalid rows are reported as failed.

import { invalidOutcome, outcomesToJsonl, readBatchFile, rowOutcome, type BatchFile, type BatchFormat, type BatchOutcome } from "../batch.js";
import type { Engine } from "../engine.js";
import { acceptDrops, byId, describeError, showMessage } from "./dom.js";

const FORMAT_TEXT: Record<BatchFile["format"], string> = {
  rows: "generic rows",
  davidson: "the Davidson data set",
  halueval: "the HaluEval data set",
};

export interface BatchPanel {
  /** Enables or disables the run button, e.g. while no model is loaded. */
  setReady(ready: boolean): void;
}

/**
 * Wires the batch panel. `selectedMetrics` returns the metric ids to run at the time of the click.
 * `onRunningChange` runs with true when a batch starts and with false when it ends, for example to
 * stop model loads, which would release the model under the remaining rows.
 */
export function setUpBatchPanel(engine: Engine, selectedMetrics: () => string[], onRunningChange: (running: boolean) => void = () => undefined): BatchPanel {
  const runButton = byId<HTMLButtonElement>("batch-run");
  const cancelButton = byId<HTMLButtonElement>("batch-cancel");
  const download = byId<HTMLAnchorElement>("batch-download");
  const progressBox = byId("batch-progress");
  const progressBar = byId<HTMLProgressElement>("batch-bar");
  const status = byId("batch-status");
  const errorBox = byId("batch-error");
  const formatSelect = byId<HTMLSelectElement>("batch-format");

  let batch: BatchFile | undefined;
  let lastFile: File | undefined;
  let ready = false;
  let controller: AbortController | undefined;
  let downloadUrl: string | undefined;

  const refresh = (): void => {
    runButton.disabled = !ready || batch === undefined || controller !== undefined;
  };

  const readFile = async (file: File): Promise<void> => {
    showMessage(errorBox, undefined);
    lastFile = file;
    try {
      batch = readBatchFile(file.name, new Uint8Array(await file.arrayBuffer()), formatSelect.value as BatchFormat);
      const invalid = batch.invalidRows > 0 ? `, ${batch.invalidRows} invalid (reported as failed in the results)` : "";
      status.textContent = `${file.name}: ${batch.validRows} rows ready${invalid}, read as ${FORMAT_TEXT[batch.format]}.`;
      progressBox.hidden = false;
      progressBar.value = 0;
    } catch (error) {
      batch = undefined;
      status.textContent = "";
      showMessage(errorBox, describeError(error));
    }
    refresh();
  };

  byId<HTMLInputElement>("batch-file").addEventListener("change", (event) => {
    const file = (event.target as HTMLInputElement).files?.[0];
    if (file) void readFile(file);
  });
  acceptDrops(byId("batch-drop"), (file) => void readFile(file));
  formatSelect.addEventListener("change", () => {
    if (lastFile) void readFile(lastFile);
  });

  runButton.addEventListener("click", async () => {
    const metrics = selectedMetrics();
    if (metrics.length === 0) {
      showMessage(errorBox, "No metric is selected; tick at least one metric.");
      return;
    }
    showMessage(errorBox, undefined);
    const current = new AbortController();
    controller = current;
    cancelButton.hidden = false;
    download.hidden = true;
    refresh();
    onRunningChange(true);

    try {
      await runBatch(batch!, metrics, current.signal);
    } catch (error) {
      showMessage(errorBox, `The batch stopped: ${describeError(error)}`);
    } finally {
      controller = undefined;
      cancelButton.hidden = true;
      onRunningChange(false);
      refresh();
    }
  });

  /** Evaluates every row, then shows the summary and offers the outcomes as a download. */
  const runBatch = async (batchFile: BatchFile, metrics: string[], signal: AbortSignal): Promise<void> => {
    // A row that fails (for example a metric slot the row leaves empty) is recorded and the run goes on.
    const outcomes: BatchOutcome[] = [];
    for (const [index, entry] of batchFile.entries.entries()) {
      if (signal.aborted) break;
      status.textContent = `Row ${index + 1} of ${batchFile.entries.length}…`;
      if ("invalid" in entry) {
        outcomes.push(invalidOutcome(entry.invalid));
      } else {
        try {
          const results = await engine.evaluate(entry.row.content, { metrics, signal });
          outcomes.push(rowOutcome(entry.row, { results }));
        } catch (error) {
          if (signal.aborted) break;
          outcomes.push(rowOutcome(entry.row, { error }));
        }
      }
      progressBar.value = (index + 1) / batchFile.entries.length;
    }

    const failed = outcomes.filter((outcome) => outcome.error).length;
    const cancelled = signal.aborted ? ", cancelled" : "";
    status.textContent = `${batchFile.name}: ${outcomes.length} of ${batchFile.entries.length} rows evaluated${failed > 0 ? `, ${failed} failed` : ""}${cancelled}.`;
    if (downloadUrl) URL.revokeObjectURL(downloadUrl);
    downloadUrl = URL.createObjectURL(new Blob([outcomesToJsonl(outcomes)], { type: "application/x-ndjson" }));
    download.href = downloadUrl;
    download.hidden = outcomes.length === 0;
  };

  cancelButton.addEventListener("click", () => controller?.abort());

  return {
    setReady(value) {
      ready = value;
      refresh();
    },
  };
}
