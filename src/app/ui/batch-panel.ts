// The batch panel: a CSV or JSONL file of rows, evaluated one row at a time with progress and
// cancel, and the outcomes offered as a JSONL download.

import { outcomesToJsonl, parseBatchFile, type BatchOutcome, type BatchRow } from "../batch.js";
import type { Engine } from "../engine.js";
import { acceptDrops, byId, describeError, showMessage } from "./dom.js";

export interface BatchPanel {
  /** Enables or disables the run button, e.g. while no model is loaded. */
  setReady(ready: boolean): void;
}

/** Wires the batch panel. `selectedMetrics` returns the metric ids to run at the time of the click. */
export function setUpBatchPanel(engine: Engine, selectedMetrics: () => string[]): BatchPanel {
  const runButton = byId<HTMLButtonElement>("batch-run");
  const cancelButton = byId<HTMLButtonElement>("batch-cancel");
  const download = byId<HTMLAnchorElement>("batch-download");
  const progressBox = byId("batch-progress");
  const progressBar = byId<HTMLProgressElement>("batch-bar");
  const status = byId("batch-status");
  const errorBox = byId("batch-error");

  let rows: BatchRow[] = [];
  let fileName = "";
  let ready = false;
  let controller: AbortController | undefined;
  let downloadUrl: string | undefined;

  const refresh = (): void => {
    runButton.disabled = !ready || rows.length === 0 || controller !== undefined;
  };

  const readFile = async (file: File): Promise<void> => {
    showMessage(errorBox, undefined);
    try {
      rows = parseBatchFile(file.name, await file.text());
      fileName = file.name;
      status.textContent = `${file.name}: ${rows.length} rows ready.`;
      progressBox.hidden = false;
      progressBar.value = 0;
    } catch (error) {
      rows = [];
      showMessage(errorBox, describeError(error));
    }
    refresh();
  };

  byId<HTMLInputElement>("batch-file").addEventListener("change", (event) => {
    const file = (event.target as HTMLInputElement).files?.[0];
    if (file) void readFile(file);
  });
  acceptDrops(byId("batch-drop"), (file) => void readFile(file));

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

    // A row that fails (for example a metric slot the row leaves empty) is recorded and the run goes on.
    const outcomes: BatchOutcome[] = [];
    for (const [index, row] of rows.entries()) {
      if (current.signal.aborted) break;
      status.textContent = `Row ${index + 1} of ${rows.length}…`;
      try {
        const results = await engine.evaluate(row.content, { metrics, signal: current.signal });
        outcomes.push({ row: row.row, content: row.content, results });
      } catch (error) {
        if (current.signal.aborted) break;
        outcomes.push({ row: row.row, content: row.content, error: { name: (error as Error).name, message: (error as Error).message } });
      }
      progressBar.value = (index + 1) / rows.length;
    }

    const failed = outcomes.filter((outcome) => outcome.error).length;
    const cancelled = current.signal.aborted ? ", cancelled" : "";
    status.textContent = `${fileName}: ${outcomes.length} of ${rows.length} rows evaluated${failed > 0 ? `, ${failed} failed` : ""}${cancelled}.`;
    if (downloadUrl) URL.revokeObjectURL(downloadUrl);
    downloadUrl = URL.createObjectURL(new Blob([outcomesToJsonl(outcomes)], { type: "application/x-ndjson" }));
    download.href = downloadUrl;
    download.hidden = outcomes.length === 0;

    controller = undefined;
    cancelButton.hidden = true;
    refresh();
  });

  cancelButton.addEventListener("click", () => controller?.abort());

  return {
    setReady(value) {
      ready = value;
      refresh();
    },
  };
}
