import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "vite";
import { describe, expect, it } from "vitest";
import { GPUUnsupportedError } from "../../src/errors.js";
import { shaderFileText, shaderLoader, shaderNames, shaderSource } from "../../src/gpu/shaders.js";

const shaderDir = new URL("../../shaders/", import.meta.url);
const filesOnDisk = readdirSync(shaderDir)
  .filter((file) => file.endsWith(".wgsl"))
  .map((file) => file.slice(0, -".wgsl".length))
  .sort();

describe("shader loading", () => {
  it("bundles every file under Vite", () => {
    expect(shaderLoader()).toBe("vite-glob");
    expect(shaderNames()).toEqual(filesOnDisk);
    for (const name of filesOnDisk) {
      expect(shaderFileText(name)).toBe(readFileSync(new URL(`${name}.wgsl`, shaderDir), "utf8"));
    }
  });

  it("reads every file from disk in Node", () => {
    const tsx = new URL("../../node_modules/.bin/tsx", import.meta.url).pathname;
    const script = new URL("./load-shaders-node.ts", import.meta.url).pathname;
    const output = execFileSync(tsx, [script], { encoding: "utf8", timeout: 60_000 });
    const result = JSON.parse(output) as { loader: string; lengths: Record<string, number> };

    expect(result.loader).toBe("node-fs");
    expect(Object.keys(result.lengths).sort()).toEqual(filesOnDisk);
    for (const name of filesOnDisk) expect(result.lengths[name]).toBe(shaderSource(name).length);
  });

  it("bundles every file in Vite build", async () => {
    const outDir = mkdtempSync(join(tmpdir(), "tokenjudge-shaders-"));
    try {
      const entry = new URL("../../src/gpu/shaders.ts", import.meta.url).pathname;
      await build({
        configFile: false,
        logLevel: "silent",
        // Only the shader bundle is under test, not the app's static files.
        publicDir: false,
        root: new URL("../..", import.meta.url).pathname,
        build: { outDir, target: "es2022", lib: { entry, formats: ["es"], fileName: "shaders" } },
      });
      expect(readdirSync(outDir)).toEqual(["shaders.js"]);

      // Plain Node runs the bundle, so the text must come from the bundle and not from disk.
      const script = `import(${JSON.stringify(join(outDir, "shaders.js"))}).then((m) => console.log(JSON.stringify({ loader: m.shaderLoader(), names: m.shaderNames(), add: m.shaderSource("add") })))`;
      const output = execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 60_000 });
      const result = JSON.parse(output) as { loader: string; names: string[]; add: string };
      expect(result.loader).toBe("vite-glob");
      expect(result.names).toEqual(filesOnDisk);
      expect(result.add).toBe(shaderSource("add"));
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });

  it("rejects unknown shader name", () => {
    expect(() => shaderFileText("no_such_shader")).toThrow(GPUUnsupportedError);
    expect(() => shaderFileText("../package")).toThrow(/invalid/);
  });
});

describe("shader preprocessor", () => {
  it("inserts common include once", () => {
    const source = shaderSource("embedding", ["WEIGHT_F32"]);
    expect(source).not.toMatch(/^\s*#include/m);
    expect(source.match(/fn workgroup_index\(/g)).toHaveLength(1);
    expect(source.match(/fn weight_byte\(/g)).toHaveLength(1);
  });

  it("keeps only the selected weight decoder", () => {
    const q4k = shaderSource("embedding", ["WEIGHT_Q4_K"]);
    expect(q4k).toContain("WEIGHT_BLOCK_BYTES: u32 = 144u");
    expect(q4k.match(/fn weight_at\(/g)).toHaveLength(1);
    expect(q4k).not.toContain("WEIGHT_BLOCK_BYTES: u32 = 210u");
  });

  it("selects #if and #else branches", () => {
    const neox = shaderSource("rope", ["NEOX"]);
    const normal = shaderSource("rope");
    expect(neox).toContain("let ib = head_base + pair + half_dims;");
    expect(neox).not.toContain("let ib = head_base + 2u * pair + 1u;");
    expect(normal).toContain("let ib = head_base + 2u * pair + 1u;");
    expect(normal).not.toContain("let ib = head_base + pair + half_dims;");
  });

  it("handles negated condition", () => {
    expect(shaderSource("class_logits", ["WEIGHT_F32"])).toContain("var<storage, read> ids");
    expect(shaderSource("class_logits", ["WEIGHT_F32", "ALL_ROWS"])).not.toContain("var<storage, read> ids");
  });

  it("rejects unknown define", () => {
    expect(() => shaderSource("add", ["WEIGHT_Q5_K" as never])).toThrow(/unknown define "WEIGHT_Q5_K"/);
  });

  it("leaves no directive in any shader", () => {
    for (const name of shaderNames()) {
      for (const line of shaderSource(name).split("\n")) expect(line.trim().startsWith("#"), `${name}: ${line}`).toBe(false);
    }
  });
});
