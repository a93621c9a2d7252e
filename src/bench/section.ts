// The heading, key and preamble of one bench run's report section: date, command, machine, WebGPU
// adapter and models.

import type { AdapterInfo, MachineInfo } from "./machine.js";
import { machineKey } from "./machine.js";
import type { ReportSection, ReportTable } from "./report.js";
import { formatMiB } from "./tables.js";

export interface SectionInput {
  date: Date;
  /** Arguments after `npm run bench --`. */
  args: readonly string[];
  machine: MachineInfo;
  /** Undefined when no WebGPU adapter was found or the webgpu backend was not requested. */
  adapter: AdapterInfo | undefined;
  /** Reason the adapter is missing, when it is. */
  adapterMissingReason?: string;
  /** 1-minute load averages of the machine before and after the run (os.loadavg()[0]). */
  loadAverage: { start: number; end: number };
  /** Markdown lines that describe the models measured. */
  modelNotes: string[];
  tables: ReportTable[];
  /** Measurements not taken yet ("Q8_0 webgpu 256"), set while the run is still going. */
  pending?: string[];
}

/** Builds the report section of one run. */
export function buildSection(input: SectionInput): ReportSection {
  const { machine, adapter } = input;
  const command = ["npm run bench", ...(input.args.length > 0 ? ["--", ...input.args] : [])].join(" ");

  const preamble = [
    `- Date: ${input.date.toISOString()}`,
    `- Command: \`${command}\``,
    `- Machine: ${machine.cpuModel}, ${machine.logicalCores} logical cores, ${formatMiB(machine.memoryBytes)} RAM, ${machine.os}, Node ${machine.node}`,
    `- Load average (1 min) before / after the run: ${input.loadAverage.start.toFixed(2)} / ${input.loadAverage.end.toFixed(2)}`,
  ];

  if (adapter) {
    const name = [adapter.vendor, adapter.architecture, adapter.device, adapter.description].filter(Boolean).join(" / ") || "unnamed";
    preamble.push(
      `- WebGPU adapter (Dawn, npm \`webgpu\`): ${name}; software adapter: ${adapter.isSoftwareAdapter ? "yes" : "no"}; ` +
        `maxStorageBufferBindingSize ${formatMiB(adapter.maxStorageBufferBindingSize)}` +
        (adapter.vulkanDriverFile ? `; VK_ICD_FILENAMES=${adapter.vulkanDriverFile}` : ""),
      `- WebGPU device features: ${adapter.features.join(", ") || "none"}`,
    );
  } else {
    preamble.push(`- WebGPU adapter: none (${input.adapterMissingReason ?? "the webgpu backend was not requested"})`);
  }
  preamble.push(...input.modelNotes);
  if (input.pending) {
    preamble.push(
      `- Status: incomplete. The run was still going, or was stopped, when this was written. Not measured yet: ${input.pending.join(", ") || "none"}.`,
    );
  }

  if (adapter?.isSoftwareAdapter) {
    preamble.push(
      "",
      "**The WebGPU numbers in this section come from a software adapter** that runs the shaders on " +
        "the CPU, far slower than any GPU. They show that the path works end to end and give no " +
        "estimate of speed on a real GPU.",
    );
  }
  if (input.loadAverage.start > machine.logicalCores || input.loadAverage.end > machine.logicalCores) {
    preamble.push(
      "",
      "The load average exceeded the core count, so other processes shared the CPU during the run " +
        "and every CPU-side number (llama.cpp, the reference, and WebGPU on a software adapter) is slower than on an idle machine.",
    );
  }

  return {
    key: `${machineKey(machine, adapter)} | ${command}`,
    heading: `${input.date.toISOString().slice(0, 10)}: ${machine.cpuModel}, ${adapter ? adapter.description || adapter.vendor || "WebGPU" : "no WebGPU"}`,
    preamble,
    tables: input.tables,
  };
}
