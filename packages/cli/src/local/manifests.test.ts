import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadManifests } from "./manifests.js";

describe("loadManifests()", () => {
  const dir = mkdtempSync(join(tmpdir(), "weftctl-manifests-"));
  writeFileSync(join(dir, "a.yaml"), "apiVersion: v1\nkind: Service\nmetadata: {name: a}\n---\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ServiceAccount, metadata: {name: sa}}\n");
  writeFileSync(join(dir, "notes.txt"), "ignored");

  it("reads multi-document YAML and Lists from a directory, skipping empty documents and other files", () => {
    expect(loadManifests([dir]).map((m) => `${m.kind}/${m.metadata.name}`)).toEqual(["Service/a", "ServiceAccount/sa"]);
  });

  it("names the file and document of a broken object", () => {
    const bad = join(dir, "bad.yml");
    writeFileSync(bad, "apiVersion: v1\nkind: Service\nmetadata: {name: ok}\n---\nkind: Service\n");
    expect(() => loadManifests([bad])).toThrow(/bad\.yml#2.*apiVersion, kind or metadata\.name/);
  });

  it("names a YAML syntax error's file", () => {
    const bad = join(dir, "syntax.yaml");
    writeFileSync(bad, "kind: [unclosed\n");
    expect(() => loadManifests([bad])).toThrow(/syntax\.yaml#1/);
  });

  it("says which path does not exist", () => {
    expect(() => loadManifests([join(dir, "missing")])).toThrow(/no such file or directory: .*missing/);
  });
});
