import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { localApply } from "./apply.js";
import { loadManifests } from "./manifests.js";
import type { LocalState } from "./state.js";

const vs = (name: string, subset: string) => `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: ${name}}\nspec:\n  hosts: [${name}]\n  http:\n  - route:\n    - destination: {host: ${name}, subset: ${subset}}\n`;

describe("localApply()", () => {
  const dir = mkdtempSync(join(tmpdir(), "weftctl-apply-"));
  const configDir = join(dir, "config");
  mkdirSync(configDir);
  writeFileSync(join(configDir, "10-manifests.yaml"), vs("reviews", "v1") + "---\n" + vs("ratings", "v1"));
  const state = { configDir } as LocalState;
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };

  it("replaces an object of the same identity where it was defined, as kubectl apply does", () => {
    expect(localApply(state, [file("v2.yaml", vs("reviews", "v2"))])).toEqual(["VirtualService/default/reviews"]);
    const all = loadManifests([configDir]);
    expect(all.filter((m) => m.metadata.name === "reviews")).toHaveLength(1);
    expect(JSON.stringify(all.find((m) => m.metadata.name === "reviews")!.spec)).toContain("v2");
  });

  it("adds new objects to the applied file, and replaces them there on a later apply", () => {
    localApply(state, [file("details.yaml", vs("details", "v1"))]);
    localApply(state, [file("details2.yaml", vs("details", "v2"))]);
    const all = loadManifests([configDir]);
    expect(all.filter((m) => m.metadata.name === "details")).toHaveLength(1);
    expect(readFileSync(join(configDir, "50-applied.yaml"), "utf8")).toContain("subset: v2");
    expect(readdirSync(configDir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("refuses workloads, saying what to do instead", () => {
    const deployment = file("d.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {template: {spec: {}}}\n");
    expect(() => localApply(state, [deployment])).toThrow(/cannot apply workloads \(Deployment x\)/);
    expect(() => localApply(state, [deployment])).toThrow(expect.objectContaining({ hint: expect.stringMatching(/local down.*local up/) }));
  });
});
