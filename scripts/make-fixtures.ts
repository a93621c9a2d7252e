// Generates the fixture GGUF files into fixtures/ (or the folder given with --dir), skipping the
// ones whose shared input is missing. Usage: npx tsx scripts/make-fixtures.ts [--dir DIR] [NAME ...]

import { stat } from "node:fs/promises";
import { relative } from "node:path";

import { DEFAULT_FIXTURE_DIR, ensureFixture, fixtureUnavailableReason } from "../src/fixtures/registry.js";
import { FIXTURES } from "../src/fixtures/spec.js";

function parseArguments(argv: string[]): { dir: string; names: string[] } {
  let dir = DEFAULT_FIXTURE_DIR;
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i]!;
    if (argument === "--dir") {
      const value = argv[++i];
      if (!value) throw new Error("--dir needs a folder path");
      dir = value;
    } else if (argument === "--help" || argument === "-h") {
      console.log("usage: make-fixtures [--dir DIR] [NAME ...]\n  --dir DIR  folder for the generated files (default: fixtures/ at the repository root)");
      console.log(`fixtures: ${Object.keys(FIXTURES).join(", ")}`);
      process.exit(0);
    } else {
      if (!(argument in FIXTURES)) throw new Error(`unknown fixture "${argument}"; known fixtures: ${Object.keys(FIXTURES).join(", ")}`);
      names.push(argument);
    }
  }
  return { dir, names: names.length > 0 ? names : Object.keys(FIXTURES) };
}

async function main(): Promise<void> {
  const { dir, names } = parseArguments(process.argv.slice(2));
  let skipped = 0;

  for (const name of names) {
    const reason = fixtureUnavailableReason(name);
    if (reason) {
      console.log(`${name.padEnd(18)} skipped: ${reason}`);
      skipped++;
      continue;
    }

    const started = performance.now();
    const path = await ensureFixture(name, { dir });
    const seconds = (performance.now() - started) / 1000;
    const megabytes = (await stat(path)).size / 1e6;
    console.log(`${name.padEnd(18)} ${relative(process.cwd(), path).padEnd(36)} ${megabytes.toFixed(1).padStart(6)} MB ${seconds.toFixed(1).padStart(6)} s`);
  }

  if (skipped > 0) console.log(`${skipped} fixture(s) skipped because their shared input is missing`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? `make-fixtures failed: ${error.message}` : error);
  process.exit(1);
});
