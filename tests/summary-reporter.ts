import type { Reporter, RunnerTestFile, RunnerTask } from "vitest";

// Prints one plain closing line, "N passed, N failed, N skipped", after vitest's own summary, so
// tools that read only the last line of a run see the counts.
export default class SummaryReporter implements Reporter {
  onFinished(files: RunnerTestFile[] = []): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };

    const visit = (task: RunnerTask): void => {
      if (task.type === "suite") {
        for (const child of task.tasks) visit(child);
        // A failed hook (beforeAll, afterAll) fails the suite while its tests read as skipped.
        const childFailed = task.tasks.some((child) => child.result?.state === "fail");
        if (task.result?.state === "fail" && !childFailed) counts.failed++;
        return;
      }
      const state = task.result?.state;
      if (state === "pass") counts.passed++;
      else if (state === "fail") counts.failed++;
      else counts.skipped++;
    };

    for (const file of files) visit(file);
    process.stdout.write(`\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}
