// Descriptions of the machine and the WebGPU adapter that a benchmark section records.

import { readFileSync } from "node:fs";
import { arch, availableParallelism, cpus, platform, release, totalmem } from "node:os";

import type { GPUContext } from "../gpu/context.js";

export interface MachineInfo {
  /** CPU model name from /proc/cpuinfo, or from os.cpus() where that file is missing. */
  cpuModel: string;
  /** Logical cores visible to this process. */
  logicalCores: number;
  /** Physical memory in bytes. */
  memoryBytes: number;
  /** Platform, kernel release and architecture, such as "linux 6.1.0 x64". */
  os: string;
  /** Node.js version, such as "v20.11.0". */
  node: string;
}

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** Features the device was created with, sorted. */
  features: string[];
  /** True for CPU implementations of WebGPU (SwiftShader, llvmpipe, fallback adapters). */
  isSoftwareAdapter: boolean;
  maxStorageBufferBindingSize: number;
  /** VK_ICD_FILENAMES when set, because in Node it selects the Vulkan driver Dawn uses. */
  vulkanDriverFile: string | undefined;
}

/** Returns the first "model name" line of /proc/cpuinfo, or undefined when there is none. */
export function cpuModelFromCpuinfo(text: string): string | undefined {
  const line = text.split("\n").find((entry) => /^model name\s*:/.test(entry));
  return line?.slice(line.indexOf(":") + 1).trim() || undefined;
}

/** Describes this machine. */
export function machineInfo(): MachineInfo {
  let cpuModel: string | undefined;
  try {
    cpuModel = cpuModelFromCpuinfo(readFileSync("/proc/cpuinfo", "utf8"));
  } catch {
    // No /proc/cpuinfo (macOS, Windows): os.cpus() below names the CPU.
  }
  return {
    cpuModel: cpuModel ?? cpus()[0]?.model ?? "unknown CPU",
    logicalCores: availableParallelism(),
    memoryBytes: totalmem(),
    os: `${platform()} ${release()} ${arch()}`,
    node: process.version,
  };
}

/** Describes the adapter behind `context`. */
export function adapterInfo(context: GPUContext): AdapterInfo {
  const info = context.adapterInfo;
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    features: [...context.device.features].sort(),
    isSoftwareAdapter: context.isSoftwareAdapter,
    maxStorageBufferBindingSize: context.limits.maxStorageBufferBindingSize,
    vulkanDriverFile: process.env.VK_ICD_FILENAMES,
  };
}

/** Builds a short key that names this machine and adapter, so a later run on the same pair replaces its section. */
export function machineKey(machine: MachineInfo, adapter: AdapterInfo | undefined): string {
  const gpu = adapter ? [adapter.vendor, adapter.architecture, adapter.description].filter(Boolean).join(" ") || "unnamed adapter" : "no WebGPU adapter";
  return `${machine.cpuModel}, ${machine.logicalCores} cores / ${gpu}`;
}
