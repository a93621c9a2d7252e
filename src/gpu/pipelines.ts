// Compute pipelines cached by a typed key, and the dispatch description every kernel returns.
//
// API:
//   PipelineKey      { kernel, defines?, constants?, append?, entryPoint? }: one compiled variant
//   pipelineLabel(key) the cache key and GPU label, built from the same fields
//   KernelDispatch   { pipeline: PipelineKey, params?, buffers, workgroups }
//   PipelineCache    get(key) -> Promise<GPUComputePipeline>; prepare(dispatch) for GPUContext.run
//   grid2D(n, max)   splits n workgroups over x and y when n exceeds the per-dimension limit
//
// Binding convention: `params`, when present, is a uniform buffer at @binding(0), and then
// `buffers[i]` is bound at @binding(i + 1). Without params, `buffers[i]` is at @binding(i).
// Everything is in @group(0), and pipelines use layout "auto".

import { GPUUnsupportedError } from "../errors.js";
import { BufferUsage } from "./buffers.js";
import { shaderSource, type ShaderDefine } from "./shaders.js";

/** One compiled pipeline variant. */
export interface PipelineKey {
  /** Shader file name: shaders/<kernel>.wgsl contains the entry point. */
  kernel: string;
  /** #if variants enabled in the kernel and in every appended file. */
  defines?: readonly ShaderDefine[];
  /** Values for the shader's `override` constants, such as workgroup sizes. */
  constants?: Readonly<Record<string, number>>;
  /** Further shader files appended after the kernel's text, such as a weight decoder. */
  append?: readonly string[];
  /** Entry point name; "main" when absent. */
  entryPoint?: string;
}

/** One dispatch of a kernel with its uniform parameters, storage bindings and workgroup count. */
export interface KernelDispatch {
  pipeline: PipelineKey;
  /** Uniform parameter bytes bound at @binding(0); see UniformWriter. */
  params?: Uint8Array<ArrayBuffer>;
  /** Storage buffers, bound from @binding(1) with params or from @binding(0) without. */
  buffers: readonly (GPUBuffer | GPUBufferBinding)[];
  /** Workgroup counts in x, y and z. */
  workgroups: readonly [number, number?, number?];
}

/** A dispatch whose pipeline and bind group exist, ready to be recorded into a compute pass. */
export interface PreparedDispatch {
  encode(pass: GPUComputePassEncoder): void;
  /** Destroys the dispatch's uniform buffer; call after the pass was submitted. */
  release(): void;
}

/** Returns the canonical text of a key: the cache key and the GPU label of its pipeline. */
export function pipelineLabel(key: PipelineKey): string {
  const parts = [key.kernel];
  if (key.append && key.append.length > 0) parts.push(`+${key.append.join("+")}`);
  if (key.defines && key.defines.length > 0) parts.push(`[${[...key.defines].sort().join(",")}]`);
  const constants = Object.entries(key.constants ?? {});
  constants.sort(([a], [b]) => a.localeCompare(b, "en"));
  if (constants.length > 0) parts.push(`{${constants.map(([name, value]) => `${name}=${value}`).join(",")}}`);
  if (key.entryPoint && key.entryPoint !== "main") parts.push(`@${key.entryPoint}`);
  return parts.join("");
}

/** Returns the full WGSL text for a key: the kernel file followed by the appended files. */
export function pipelineSource(key: PipelineKey): string {
  const files = [key.kernel, ...(key.append ?? [])];
  return files.map((file) => shaderSource(file, key.defines ?? [])).join("\n");
}

/** Splits `count` workgroups into [x, y] with x <= maxPerDimension; shaders linearize as x + y * num_workgroups.x. */
export function grid2D(count: number, maxPerDimension = 65535): [number, number] {
  if (count <= maxPerDimension) return [count, 1];
  const y = Math.ceil(count / maxPerDimension);
  return [Math.ceil(count / y), y];
}

export class PipelineCache {
  private readonly pipelines = new Map<string, Promise<GPUComputePipeline>>();

  constructor(
    private readonly device: GPUDevice,
    private readonly assertUsable: () => void = () => undefined,
  ) {}

  /** Number of compiled (or compiling) variants. */
  get size(): number {
    return this.pipelines.size;
  }

  /** Returns the pipeline for `key`, compiling it on first use. */
  get(key: PipelineKey): Promise<GPUComputePipeline> {
    this.assertUsable();
    const label = pipelineLabel(key);
    const cached = this.pipelines.get(label);
    if (cached) return cached;

    const created = this.compile(key, label);
    this.pipelines.set(label, created);
    created.catch(() => this.pipelines.delete(label));
    return created;
  }

  /** Compiles the pipeline and creates the uniform buffer and bind group of one dispatch. */
  async prepare(dispatch: KernelDispatch): Promise<PreparedDispatch> {
    const pipeline = await this.get(dispatch.pipeline);
    const label = pipelineLabel(dispatch.pipeline);
    const limit = this.device.limits.maxComputeWorkgroupsPerDimension;
    const [x, y = 1, z = 1] = dispatch.workgroups;
    for (const count of [x, y, z]) {
      if (!Number.isInteger(count) || count < 0 || count > limit) {
        throw new GPUUnsupportedError(
          `${label}: workgroup count ${count} in [${x}, ${y}, ${z}] is outside [0, ${limit}]; split the dispatch with grid2D()`,
        );
      }
    }

    const entries: GPUBindGroupEntry[] = [];
    let uniform: GPUBuffer | undefined;
    if (dispatch.params) {
      uniform = this.device.createBuffer({
        label: `${label}.params`,
        size: Math.max(16, Math.ceil(dispatch.params.byteLength / 16) * 16),
        usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST,
      });
      this.device.queue.writeBuffer(uniform, 0, dispatch.params);
      entries.push({ binding: 0, resource: { buffer: uniform } });
    }
    const first = entries.length;
    dispatch.buffers.forEach((resource, i) => {
      entries.push({ binding: first + i, resource: "buffer" in resource ? resource : { buffer: resource } });
    });
    const bindGroup = this.device.createBindGroup({ label, layout: pipeline.getBindGroupLayout(0), entries });

    return {
      encode(pass) {
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bindGroup);
        if (x > 0 && y > 0 && z > 0) pass.dispatchWorkgroups(x, y, z);
      },
      release() {
        uniform?.destroy();
      },
    };
  }

  /** Forgets every cached pipeline. */
  clear(): void {
    this.pipelines.clear();
  }

  private async compile(key: PipelineKey, label: string): Promise<GPUComputePipeline> {
    const code = pipelineSource(key);
    const module = this.device.createShaderModule({ label, code });
    try {
      return await this.device.createComputePipelineAsync({
        label,
        layout: "auto",
        compute: { module, entryPoint: key.entryPoint ?? "main", constants: { ...key.constants } },
      });
    } catch (cause) {
      const info = await module.getCompilationInfo();
      const messages = info.messages
        .filter((m) => m.type === "error")
        .map((m) => `line ${m.lineNum}:${m.linePos}: ${m.message}`)
        .join("; ");
      throw new GPUUnsupportedError(
        `compute pipeline ${label} failed to compile: ${messages || (cause as Error).message}. ` +
          "The line numbers count the preprocessed source, see pipelineSource(key).",
        { cause },
      );
    }
  }
}
