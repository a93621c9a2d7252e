// The extension's manifest requests exactly the permissions that the README's "Browser
// extension" section explains, and no host permissions, so a new permission cannot slip in unreviewed.

import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";

const MANIFEST = new URL("../../extension/manifest.json", import.meta.url);

describe("extension manifest", () => {
  it("requests the documented permissions", async () => {
    const manifest = JSON.parse(await readFile(MANIFEST, "utf8")) as Record<string, unknown>;
    expect(manifest["manifest_version"]).toBe(3);
    expect(manifest["permissions"]).toEqual(["activeTab", "contextMenus", "offscreen", "scripting", "storage"]);
    expect(manifest["host_permissions"]).toBeUndefined();
    expect(manifest["optional_host_permissions"]).toBeUndefined();
    expect(manifest["content_scripts"]).toBeUndefined();
  });

  it("names the built entry files", async () => {
    const manifest = JSON.parse(await readFile(MANIFEST, "utf8")) as { background?: { service_worker?: string; type?: string }; action?: { default_popup?: string } };
    expect(manifest.background).toEqual({ service_worker: "background.js", type: "module" });
    expect(manifest.action?.default_popup).toBe("popup.html");
  });
});
