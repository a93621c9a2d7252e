// WGSL shader text from shaders/<name>.wgsl, expanded by a small preprocessor.
//
// API:
//   shaderSource(name, defines?)  // preprocessed text of shaders/<name>.wgsl
//   shaderNames()                  // every shaders/*.wgsl name, without the extension
//   shaderFileText(name)           // the file as stored, before preprocessing
//
// Directives, each on a line of its own:
//   #include "common"        inserts shaders/common.wgsl once per shader (later includes of the same file are skipped)
//   #if NAME / #if !NAME      keeps the lines up to the matching #else or #endif when NAME is (not) defined
//   #else, #endif
// NAME must be one of SHADER_DEFINES, so a misspelt variant fails instead of silently compiling the
// other branch. Tunables such as workgroup sizes are WGSL `override` constants, not defines.
//
// Loading: under Vite (dev server, browser or worker bundle, and vitest) the files are bundled as
// strings through import.meta.glob. Elsewhere (Node, tsx) they are read with fs relative to this
// module. import.meta.env exists only under Vite, which keeps the glob call out of plain Node.

import { GPUUnsupportedError } from "../errors.js";

/** Variant names a shader may test with #if. */
export const SHADER_DEFINES = [
  "F16",
  "SUBGROUPS",
  "NEOX",
  "ALL_ROWS",
  "SUFFIX_SEGMENTS",
  "WEIGHT_F32",
  "WEIGHT_F16",
  "WEIGHT_Q8_0",
  "WEIGHT_Q4_0",
  "WEIGHT_Q4_K",
  "WEIGHT_Q6_K",
] as const;

export type ShaderDefine = (typeof SHADER_DEFINES)[number];

const KNOWN_DEFINES = new Set<string>(SHADER_DEFINES);

const bundledFiles: Record<string, string> | undefined = import.meta.env
  ? import.meta.glob<string>("../../shaders/*.wgsl", { query: "?raw", import: "default", eager: true })
  : undefined;

const fileCache = new Map<string, string>();

/** Returns how this runtime finds shader files: bundled by Vite, or read from disk in Node. */
export function shaderLoader(): "vite-glob" | "node-fs" {
  return bundledFiles ? "vite-glob" : "node-fs";
}

/** Names of every shaders/*.wgsl file, without the extension, sorted. */
export function shaderNames(): string[] {
  if (bundledFiles) {
    return Object.keys(bundledFiles)
      .map((path) => path.slice(path.lastIndexOf("/") + 1, -".wgsl".length))
      .sort();
  }
  const fs = nodeFs();
  return fs
    .readdirSync(shaderDirectory())
    .filter((file) => file.endsWith(".wgsl"))
    .map((file) => file.slice(0, -".wgsl".length))
    .sort();
}

/** Returns shaders/<name>.wgsl as stored, before preprocessing. */
export function shaderFileText(name: string): string {
  const cached = fileCache.get(name);
  if (cached !== undefined) return cached;

  if (!/^[A-Za-z0-9_]+$/.test(name)) {
    throw new GPUUnsupportedError(`shader name "${name}" is invalid: use the file name under shaders/ without ".wgsl"`);
  }

  let text: string | undefined;
  if (bundledFiles) {
    text = bundledFiles[`../../shaders/${name}.wgsl`];
  } else {
    const url = new URL(`${name}.wgsl`, shaderDirectory());
    const fs = nodeFs();
    text = fs.existsSync(url) ? fs.readFileSync(url, "utf8") : undefined;
  }
  if (text === undefined) {
    throw new GPUUnsupportedError(
      `shader "${name}" not found: expected shaders/${name}.wgsl (available: ${shaderNames().join(", ")})`,
    );
  }
  fileCache.set(name, text);
  return text;
}

/** Returns shaders/<name>.wgsl with its #include and #if directives expanded for `defines`. */
export function shaderSource(name: string, defines: readonly ShaderDefine[] = []): string {
  for (const define of defines) {
    if (!KNOWN_DEFINES.has(define)) {
      throw new GPUUnsupportedError(`shader "${name}": unknown define "${define}"; known: ${SHADER_DEFINES.join(", ")}`);
    }
  }
  return preprocess(name, new Set(defines), new Set([name]));
}

function preprocess(name: string, defines: ReadonlySet<string>, included: Set<string>): string {
  const lines = shaderFileText(name).split("\n");
  const output: string[] = [];
  // One entry per open #if: whether its current branch is kept, and whether #else was seen.
  const stack: { keep: boolean; parentKeeps: boolean; seenElse: boolean; line: number }[] = [];
  const keeping = () => stack.length === 0 || stack[stack.length - 1]!.keep;

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const trimmed = line.trim();
    const where = `shaders/${name}.wgsl:${i + 1}`;

    if (!trimmed.startsWith("#")) {
      if (keeping()) output.push(line);
      continue;
    }

    const include = /^#include\s+"([A-Za-z0-9_]+)"$/.exec(trimmed);
    const condition = /^#if\s+(!?)([A-Z][A-Z0-9_]*)$/.exec(trimmed);
    if (include) {
      const target = include[1]!;
      if (keeping() && !included.has(target)) {
        included.add(target);
        output.push(`// ---- begin shaders/${target}.wgsl ----`, preprocess(target, defines, included), `// ---- end shaders/${target}.wgsl ----`);
      }
    } else if (condition) {
      const define = condition[2]!;
      if (!KNOWN_DEFINES.has(define)) {
        throw new GPUUnsupportedError(`${where}: #if tests unknown define "${define}"; known: ${SHADER_DEFINES.join(", ")}`);
      }
      const value = defines.has(define) !== (condition[1] === "!");
      const parentKeeps = keeping();
      stack.push({ keep: parentKeeps && value, parentKeeps, seenElse: false, line: i + 1 });
    } else if (trimmed === "#else") {
      const top = stack[stack.length - 1];
      if (!top || top.seenElse) throw new GPUUnsupportedError(`${where}: #else without a matching #if`);
      top.seenElse = true;
      top.keep = top.parentKeeps && !top.keep;
    } else if (trimmed === "#endif") {
      if (!stack.pop()) throw new GPUUnsupportedError(`${where}: #endif without a matching #if`);
    } else {
      throw new GPUUnsupportedError(`${where}: unknown directive "${trimmed}"; supported: #include "name", #if NAME, #if !NAME, #else, #endif`);
    }
  }

  const open = stack[stack.length - 1];
  if (open) throw new GPUUnsupportedError(`shaders/${name}.wgsl:${open.line}: #if has no matching #endif`);
  return output.join("\n");
}

// The vite-ignore comment keeps Vite from inlining every .wgsl file a second time as a base64 asset.
function shaderDirectory(): URL {
  return new URL(/* @vite-ignore */ "../../shaders/", import.meta.url);
}

type NodeFs = typeof import("node:fs");

function nodeFs(): NodeFs {
  // process.getBuiltinModule (Node 20.16+) loads fs synchronously without a static import, which
  // would otherwise end up in browser bundles.
  const getBuiltin = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule;
  if (!getBuiltin) {
    throw new GPUUnsupportedError(
      "shader files cannot be loaded: this runtime is neither a Vite bundle nor Node 20.16+ (process.getBuiltinModule is missing)",
    );
  }
  return getBuiltin("node:fs") as NodeFs;
}
