// The shared report writer: Markdown tables, one section per bench run, and BENCHMARKS.md upkeep.
// Each section sits between two HTML comments that carry its key, so a later run with the same key
// (same machine, adapter and options) replaces it and every other section is kept as it is.

import { existsSync } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";

import { InvalidInputError } from "../errors.js";

export interface ReportColumn {
  header: string;
  /** Numbers read best right-aligned. */
  align: "left" | "right";
}

/** One table of a section. Every table function of the bench returns one of these. */
export interface ReportTable {
  title: string;
  /** Paragraphs printed under the title, before the table. */
  description?: string[];
  columns: ReportColumn[];
  /** Cell text, one array per row, in column order. */
  rows: string[][];
}

/** Everything one bench run writes. */
export interface ReportSection {
  /** Identifier of the machine, adapter and options. A later section with an equal key replaces this one. */
  key: string;
  heading: string;
  /** Markdown lines under the heading (machine, adapter, command, date). */
  preamble: string[];
  tables: ReportTable[];
}

/** The header of a new BENCHMARKS.md, before any section. */
export const REPORT_HEADER = [
  "# Benchmarks",
  "",
  "Prefill speed of the WebGPU forward pass beside llama.cpp and the float32 TypeScript reference,",
  "measured by `npm run bench` (scripts/bench.ts). Each run adds a dated section below, or replaces",
  "the section of an earlier run with the same machine, WebGPU adapter and options.",
  "",
].join("\n");

const BEGIN_PREFIX = "<!-- bench-section: ";
const END_MARKER = "<!-- /bench-section -->";

/** Renders `table` as a GitHub-flavoured Markdown table with padded columns. */
export function renderTable(table: ReportTable): string {
  const width = table.columns.length;
  for (const [index, row] of table.rows.entries()) {
    if (row.length !== width) {
      throw new InvalidInputError(`table "${table.title}": row ${index} has ${row.length} cells but there are ${width} columns; pass one cell per column`);
    }
  }

  const escape = (cell: string): string => cell.replaceAll("|", "\\|");
  const cells = [table.columns.map((column) => column.header), ...table.rows].map((row) => row.map(escape));
  const widths = table.columns.map((_, column) => Math.max(3, ...cells.map((row) => row[column]!.length)));
  const pad = (cell: string, column: number): string =>
    table.columns[column]!.align === "right" ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!);

  const line = (row: string[]): string => `| ${row.map(pad).join(" | ")} |`;
  const rule = `| ${table.columns.map((column, index) => (column.align === "right" ? `${"-".repeat(widths[index]! - 1)}:` : "-".repeat(widths[index]!))).join(" | ")} |`;
  return [line(cells[0]!), rule, ...cells.slice(1).map(line)].join("\n");
}

/** Renders a whole section, markers included. */
export function renderSection(section: ReportSection): string {
  const parts = [`${BEGIN_PREFIX}${markerKey(section.key)} -->`, `## ${section.heading}`, "", ...section.preamble];
  for (const table of section.tables) {
    parts.push("", `### ${table.title}`, "");
    if (table.description) parts.push(...table.description.flatMap((paragraph) => [paragraph, ""]));
    parts.push(renderTable(table));
  }
  parts.push("", END_MARKER);
  return parts.join("\n");
}

/** Renders a section for the terminal: the same Markdown without the markers. */
export function renderSectionText(section: ReportSection): string {
  return renderSection(section)
    .split("\n")
    .filter((line) => !line.startsWith(BEGIN_PREFIX) && line !== END_MARKER)
    .join("\n");
}

// The key goes inside an HTML comment, which "--" would end early in strict parsers.
function markerKey(key: string): string {
  return key.replaceAll("--", "- -").replaceAll("\n", " ");
}

/**
 * Returns `document` with `section` in place of the section that has the same key, or appended at
 * the end when there is none. An empty document gets REPORT_HEADER first.
 */
export function upsertSection(document: string, section: ReportSection): string {
  const base = document.trim() === "" ? REPORT_HEADER : document;
  const begin = `${BEGIN_PREFIX}${markerKey(section.key)} -->`;
  const rendered = renderSection(section);

  const start = base.indexOf(begin);
  if (start >= 0) {
    const end = base.indexOf(END_MARKER, start);
    if (end < 0) {
      throw new InvalidInputError(`the report section "${section.key}" has a begin marker but no "${END_MARKER}" after it; repair the file by hand`);
    }
    return base.slice(0, start) + rendered + base.slice(end + END_MARKER.length);
  }
  return `${base.trimEnd()}\n\n${rendered}\n`;
}

/** Writes `section` into the Markdown file at `path`, keeping the other sections. */
export async function writeReportSection(path: string, section: ReportSection): Promise<void> {
  const current = existsSync(path) ? await readFile(path, "utf8") : "";
  const next = upsertSection(current, section);

  // A temporary file and a rename keep an interrupted write from truncating earlier sections.
  const temporaryPath = `${path}.${process.pid}.tmp`;
  await writeFile(temporaryPath, next);
  await rename(temporaryPath, path);
}
