// `tokenjudge inspect MODEL.gguf`: architecture, hyperparameters, tensor types and tokenizer.

import { parseArgs } from "node:util";

import { UsageError } from "../errors.js";
import { ggmlTypeName, GGUFValueType } from "../gguf/types.js";
import type { GGUFFile } from "../gguf/reader.js";
import { readModelConfig } from "../model/config.js";
import { Tokenizer } from "../tokenizer/index.js";
import { openModel } from "./open-model.js";

export interface InspectReport {
  file: string;
  ggufVersion: number;
  fileBytes: number;
  architecture: string;
  name: string | undefined;
  parameters: number;
  config: Record<string, unknown> | { error: string };
  tensorTypes: { type: string; tensors: number; elements: number; bytes: number }[];
  tokenizer: Record<string, unknown> | { error: string };
  chatTemplate: boolean;
}

export async function runInspect(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: "boolean", default: false } },
  });
  const [model, extra] = positionals;
  if (model === undefined) throw new UsageError("inspect", 'missing MODEL; pass the path of a .gguf file, or "demo"');
  if (extra !== undefined) throw new UsageError("inspect", `unexpected argument "${extra}"; inspect takes one MODEL`);

  const { path, file } = await openModel(model);
  const report = buildInspectReport(path, file);

  if (values.json) {
    process.stdout.write(JSON.stringify(report, null, 2) + "\n");
  } else {
    process.stdout.write(formatInspectReport(report));
  }
  return 0;
}

/** Summarises a GGUF file. Config and tokenizer failures are reported in place, not thrown. */
export function buildInspectReport(path: string, file: GGUFFile): InspectReport {
  const byType = new Map<number, { tensors: number; elements: number; bytes: number }>();
  let parameters = 0;
  for (const tensor of file.tensors) {
    const entry = byType.get(tensor.type) ?? { tensors: 0, elements: 0, bytes: 0 };
    entry.tensors++;
    entry.elements += tensor.elementCount;
    entry.bytes += tensor.byteLength;
    byType.set(tensor.type, entry);
    parameters += tensor.elementCount;
  }

  let config: InspectReport["config"];
  try {
    config = { ...readModelConfig(file) };
  } catch (error) {
    config = { error: (error as Error).message };
  }

  let tokenizer: InspectReport["tokenizer"];
  try {
    const tok = Tokenizer.fromGGUF(file);
    tokenizer = {
      kind: tok.kind,
      model: file.getOptionalString("tokenizer.ggml.model"),
      pre: file.getOptionalString("tokenizer.ggml.pre"),
      vocabSize: tok.vocabSize,
      bosId: tok.bosId,
      eosId: tok.eosId,
      addBos: tok.addBos,
      addEos: tok.addEos,
    };
  } catch (error) {
    tokenizer = { error: (error as Error).message };
  }

  const template = file.metadata.get("tokenizer.chat_template");
  return {
    file: path,
    ggufVersion: file.version,
    fileBytes: file.size,
    architecture: file.architecture,
    name: file.getOptionalString("general.name"),
    parameters,
    config,
    tensorTypes: [...byType.entries()]
      .sort((a, b) => b[1].bytes - a[1].bytes)
      .map(([type, entry]) => ({ type: ggmlTypeName(type), ...entry })),
    tokenizer,
    chatTemplate: template !== undefined && template.type === GGUFValueType.STRING,
  };
}

function formatInspectReport(report: InspectReport): string {
  const lines: string[] = [];
  lines.push(`file          ${report.file} (${formatBytes(report.fileBytes)}, GGUF v${report.ggufVersion})`);
  lines.push(`architecture  ${report.architecture}${report.name ? ` (${report.name})` : ""}`);
  lines.push(`parameters    ${report.parameters.toLocaleString("en-US")}`);

  lines.push("", "hyperparameters");
  for (const [key, value] of Object.entries(report.config)) lines.push(`  ${key.padEnd(20)} ${formatValue(value)}`);

  lines.push("", "tensor types");
  for (const entry of report.tensorTypes) {
    const bitsPerWeight = ((entry.bytes * 8) / entry.elements).toFixed(2);
    lines.push(
      `  ${entry.type.padEnd(6)} ${String(entry.tensors).padStart(4)} tensors  ${formatBytes(entry.bytes).padStart(10)}  ${bitsPerWeight} bits/weight`,
    );
  }

  lines.push("", "tokenizer");
  for (const [key, value] of Object.entries(report.tokenizer)) {
    if (value !== undefined) lines.push(`  ${key.padEnd(20)} ${formatValue(value)}`);
  }
  lines.push(`  ${"chatTemplate".padEnd(20)} ${report.chatTemplate ? "yes" : "no"}`);
  return lines.join("\n") + "\n";
}

function formatValue(value: unknown): string {
  if (typeof value === "number" && !Number.isInteger(value)) return String(Number(value.toPrecision(6)));
  if (typeof value === "object" && value !== null) return JSON.stringify(value);
  return String(value);
}

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}
