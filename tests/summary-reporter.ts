import type { Reporter, RunnerTestFile, RunnerTask } from "vitest";

// Prints one plain closing line, "N passed, N failed, N skipped", after vitest's own summary, so
// tools that read only the last line of a run see the counts.
export default class SummaryReporter implements Reporter {
  onFinished(files: RunnerTestFile[] = []): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };

    const visit = (task: RunnerTask): void => {
      if (task.type === "suite") {
        for (const child of task.tasks) visit(child);
        if (task.result?.state === "fail" && task.tasks.length === 0) counts.failed++;
        return;
      }
      const state = task.result?.state;
      if (state === "pass") counts.passed++;
      else if (state === "fail") counts.failed++;
      else counts.skipped++;
    };

    for (const file of files) {
      visit(file);
      // A file that failed to load has no tasks but did fail.
      if (file.result?.state === "fail" && file.tasks.length === 0) counts.failed++;
    }
    process.stdout.write(`\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}
