// The bench's pure helpers: timing statistics, prompt ids, option parsing, Markdown report upkeep.

import { describe, expect, it, vi } from "vitest";

import { InvalidInputError } from "../../src/errors.js";
import { cpuModelFromCpuinfo } from "../../src/bench/machine.js";
import { parseBenchArgs, type BenchOptions } from "../../src/bench/options.js";
import { renderTable, upsertSection, REPORT_HEADER, type ReportSection } from "../../src/bench/report.js";
import { argmax, measure, median, promptTokenIds } from "../../src/bench/timing.js";

function section(key: string, cell: string): ReportSection {
  return {
    key,
    heading: `run ${key}`,
    preamble: [`- key: ${key}`],
    tables: [{ title: "Prefill", columns: [{ header: "backend", align: "left" }, { header: "ms", align: "right" }], rows: [["webgpu", cell]] }],
  };
}

describe("median", () => {
  it("takes the middle of an odd count", () => {
    expect(median([5, 1, 3])).toBe(3);
  });

  it("averages the two middles of an even count", () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it("rejects an empty list", () => {
    expect(() => median([])).toThrow(InvalidInputError);
  });
});

describe("measure", () => {
  it("runs warm-up then timed runs", async () => {
    let calls = 0;
    const result = await measure(async () => ++calls, { warmup: 2, runs: 3 });
    expect(calls).toBe(5);
    expect(result.samplesMs).toHaveLength(3);
    expect(result.lastResult).toBe(5);
  });

  it("stops once the budget is spent", async () => {
    // A virtual clock: each run takes exactly 30 ms, whatever the machine's load.
    let clock = 0;
    const now = vi.spyOn(performance, "now").mockImplementation(() => clock);
    try {
      let calls = 0;
      const result = await measure(async () => {
        clock += 30;
        return ++calls;
      }, { warmup: 0, runs: 10, budgetMs: 50 });
      expect(result.samplesMs).toEqual([30, 30]);
      expect(calls).toBe(2);
    } finally {
      now.mockRestore();
    }
  });

  it("rejects zero timed runs", async () => {
    await expect(measure(async () => 0, { warmup: 0, runs: 0 })).rejects.toThrow(InvalidInputError);
  });
});

describe("promptTokenIds", () => {
  it("repeats for the same seed", () => {
    expect(promptTokenIds(7, 64, 1000)).toEqual(promptTokenIds(7, 64, 1000));
  });

  it("differs between seeds", () => {
    expect(promptTokenIds(7, 64, 1000)).not.toEqual(promptTokenIds(8, 64, 1000));
  });

  it("stays inside the id limit", () => {
    const ids = promptTokenIds(1, 500, 37);
    expect(ids).toHaveLength(500);
    expect(Math.min(...ids)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...ids)).toBeLessThan(37);
    expect(new Set(ids).size).toBeGreaterThan(30);
  });

  it("picks the first maximum in argmax", () => {
    expect(argmax([1, 5, 2, 5])).toBe(1);
  });
});

describe("parseBenchArgs", () => {
  it("defaults to every model and backend", () => {
    const options = parseBenchArgs([]) as BenchOptions;
    expect(options.models).toEqual(["q8_0", "q4_0"]);
    expect(options.backends).toEqual(["webgpu", "llamacpp", "reference"]);
    expect(options.lengths).toEqual([64, 256]);
    expect(options.write).toBe(true);
  });

  it("narrows lengths and runs with --quick", () => {
    const options = parseBenchArgs(["--quick"]) as BenchOptions;
    expect(options.lengths).toEqual([64]);
    expect(options.runs).toBe(2);
  });

  it("reads lists and flags", () => {
    const options = parseBenchArgs(["--models", "q4_0", "--backends", "llamacpp,reference", "--no-write", "--json", "--runs", "3"]) as BenchOptions;
    expect(options.models).toEqual(["q4_0"]);
    expect(options.backends).toEqual(["llamacpp", "reference"]);
    expect(options.write).toBe(false);
    expect(options.json).toBe(true);
    expect(options.runs).toBe(3);
  });

  it("returns help for --help", () => {
    expect(parseBenchArgs(["--help"])).toBe("help");
  });

  it("rejects unknown values", () => {
    expect(() => parseBenchArgs(["--models", "q5_k"])).toThrow(/unknown value "q5_k"/);
    expect(() => parseBenchArgs(["--backends", "cuda"])).toThrow(InvalidInputError);
    expect(() => parseBenchArgs(["--frobnicate"])).toThrow(/unknown option/);
    expect(() => parseBenchArgs(["--runs", "0"])).toThrow(/at least 1/);
    expect(() => parseBenchArgs(["--runs"])).toThrow(/needs a value/);
  });
});

describe("report", () => {
  it("pads and right-aligns table cells", () => {
    const text = renderTable({
      title: "t",
      columns: [{ header: "name", align: "left" }, { header: "ms", align: "right" }],
      rows: [["a|b", "12.5"]],
    });
    expect(text.split("\n")).toEqual(["| name |   ms |", "| ---- | ---: |", "| a\\|b | 12.5 |"]);
  });

  it("rejects a row of the wrong width", () => {
    expect(() => renderTable({ title: "t", columns: [{ header: "a", align: "left" }], rows: [["1", "2"]] })).toThrow(/row 0 has 2 cells/);
  });

  it("starts an empty file with the header", () => {
    const document = upsertSection("", section("one", "1"));
    expect(document.startsWith(REPORT_HEADER)).toBe(true);
    expect(document).toContain("## run one");
  });

  it("appends a section with a new key", () => {
    const document = upsertSection(upsertSection("", section("one", "1")), section("two", "2"));
    expect(document.indexOf("## run one")).toBeLessThan(document.indexOf("## run two"));
  });

  it("replaces the section with the same key", () => {
    let document = upsertSection("", section("one", "111"));
    document = upsertSection(document, section("two", "222"));
    document = upsertSection(document, section("one", "333"));
    expect(document).not.toContain("111");
    expect(document).toContain("222");
    expect(document).toContain("333");
    expect(document.match(/## run one/g)).toHaveLength(1);
    expect(document.indexOf("333")).toBeLessThan(document.indexOf("222"));
  });

  it("keeps text written by hand", () => {
    const document = upsertSection(`${REPORT_HEADER}\nA note kept by hand.\n`, section("one", "1"));
    expect(upsertSection(document, section("one", "2"))).toContain("A note kept by hand.");
  });
});

describe("cpuModelFromCpuinfo", () => {
  it("reads the first model name", () => {
    expect(cpuModelFromCpuinfo("processor\t: 0\nmodel name\t: AMD EPYC 7B13\nprocessor\t: 1\nmodel name\t: other\n")).toBe("AMD EPYC 7B13");
  });

  it("returns undefined without one", () => {
    expect(cpuModelFromCpuinfo("processor\t: 0\nHardware\t: BCM2835\n")).toBeUndefined();
  });
});
