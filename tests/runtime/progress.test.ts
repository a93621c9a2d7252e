import { describe, expect, it } from "vitest";
import { createProgressReporter, LOAD_STAGES, type LoadProgress } from "../../src/runtime/progress.js";

/** Returns true when `next` is not behind `previous` in (stage, loaded) order. */
function notBackwards(previous: LoadProgress, next: LoadProgress): boolean {
  const stageDelta = LOAD_STAGES.indexOf(next.status) - LOAD_STAGES.indexOf(previous.status);
  if (stageDelta !== 0) return stageDelta > 0;
  return next.loaded >= previous.loaded;
}

describe("progress reporter", () => {
  it("drops reports that move backwards", () => {
    const seen: LoadProgress[] = [];
    let clock = 0;
    const reporter = createProgressReporter((p) => seen.push(p), () => clock++);

    reporter.report("download", 10, 100);
    reporter.report("download", 5, 100);
    reporter.report("upload", 50, 200);
    reporter.report("download", 100, 100);
    reporter.report("upload", 40, 200);
    reporter.report("upload", 200, 200);
    reporter.report("compile", 1, 3);
    reporter.ready();

    expect(seen.map((p) => `${p.status}:${p.loaded}`)).toEqual(["download:10", "upload:50", "upload:200", "compile:1", "ready:1"]);
    for (let i = 1; i < seen.length; i++) {
      expect(notBackwards(seen[i - 1]!, seen[i]!), `report ${i}`).toBe(true);
      expect(seen[i]!.elapsedMs).toBeGreaterThanOrEqual(seen[i - 1]!.elapsedMs);
    }
  });

  it("clamps loaded to total", () => {
    const seen: LoadProgress[] = [];
    const reporter = createProgressReporter((p) => seen.push(p), () => 0);

    reporter.report("upload", 500, 100);
    reporter.report("upload", -3, 100);

    expect(seen).toHaveLength(1);
    expect(seen[0]!.loaded).toBe(100);
  });

  it("ends at ready and stays there", () => {
    const seen: LoadProgress[] = [];
    const reporter = createProgressReporter((p) => seen.push(p), () => 0);

    reporter.report("upload", 1, 2);
    reporter.ready();
    reporter.report("upload", 2, 2);
    reporter.ready();

    expect(seen.at(-1)).toEqual({ status: "ready", loaded: 1, total: 1, elapsedMs: 0 });
    expect(seen.filter((p) => p.status === "ready")).toHaveLength(1);
  });
});
