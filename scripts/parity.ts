// `npm run parity [-- --json]`: compares tokenization and last-token log-probabilities with
// llama.cpp on every fixture, prints the results, and exits 1 when any comparison fails.

import { parseArgs } from "node:util";

import { compareLogitsWithLlamaCpp, type LogitsParityResult } from "../src/oracle/logits-parity.js";
import { logitsParityTargets, parityTarget, TOKENIZER_PARITY_MODELS } from "../src/oracle/parity-targets.js";
import { tokenizerCorpus } from "../src/oracle/tokenizer-corpus.js";
import { compareTokenizerWithLlamaCpp, type TokenizerMismatch } from "../src/oracle/tokenizer-parity.js";

interface ParityReport {
  tokenizer: { cases: number; mismatches: number; vocabularies: { model: string; cases: number; mismatches: number }[]; examples: TokenizerMismatch[] };
  logits: LogitsParityResult[];
  skipped: { model: string; reason: string }[];
}

const { values } = parseArgs({ options: { json: { type: "boolean", default: false } } });
const log = (line: string): void => {
  if (!values.json) process.stdout.write(line + "\n");
};

const report: ParityReport = { tokenizer: { cases: 0, mismatches: 0, vocabularies: [], examples: [] }, logits: [], skipped: [] };

// Step 1: tokenizer ids on the corpus, for the three vocabularies.
const corpus = tokenizerCorpus();
for (const name of TOKENIZER_PARITY_MODELS) {
  const target = parityTarget(name);
  if (target.unavailable !== undefined) {
    report.skipped.push({ model: name, reason: target.unavailable });
    log(`tokenizer ${name}: skipped, ${target.unavailable}`);
    continue;
  }
  const result = await compareTokenizerWithLlamaCpp(await target.path(), corpus);
  report.tokenizer.cases += result.cases;
  report.tokenizer.mismatches += result.mismatches;
  report.tokenizer.vocabularies.push({ model: name, cases: result.cases, mismatches: result.mismatches });
  report.tokenizer.examples.push(...result.examples.slice(0, 3));
  log(`tokenizer ${name}: ${result.cases} cases, ${result.mismatches} mismatches`);
}

// Step 2: last-token log-probabilities of the reference forward pass, for every model.
for (const target of logitsParityTargets()) {
  if (target.unavailable !== undefined) {
    report.skipped.push({ model: target.name, reason: target.unavailable });
    log(`logits ${target.name}: skipped, ${target.unavailable}`);
    continue;
  }
  const result = await compareLogitsWithLlamaCpp(target.name, await target.path());
  report.logits.push(result);
  log(
    `logits ${result.fixture.padEnd(20)} ${result.weightType.padEnd(5)} maxAbsDiff ${result.maxAbsDiff.toExponential(2)} (bound ${result.tolerance}) top1 ${result.top1Match ? "same" : "DIFFERENT"} ${result.passed ? "ok" : "FAILED"}`,
  );
}

if (values.json) process.stdout.write(JSON.stringify(report) + "\n");

const failed = report.tokenizer.mismatches > 0 || report.logits.some((result) => !result.passed);
process.exitCode = failed ? 1 : 0;
