import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { nodeFlagsFrom, weftBinary, weftNodeFlags } from "./binaries.js";

describe("weftNodeFlags()", () => {
  it("gives the agent @weft/agent's declared Node flags, the ones that keep a sidecar's young generation small", () => {
    const manifest = JSON.parse(readFileSync(createRequire(import.meta.url).resolve("@weft/agent/package.json"), "utf8")) as { weft: { nodeFlags: string[] } };
    const flags = weftNodeFlags("@weft/agent");
    expect(flags).toEqual(manifest.weft.nodeFlags);
    expect(flags).toContain("--max-semi-space-size=1");
  });

  it("is empty for a package that declares none (discovery runs with Node's defaults)", () => {
    expect(weftNodeFlags("@weft/discovery")).toEqual([]);
  });

  it("refuses what is not a plain --flag[=value], naming the entry", () => {
    expect(nodeFlagsFrom(["--a=1", "--b"], "p")).toEqual(["--a=1", "--b"]);
    expect(() => nodeFlagsFrom("--a", "pkg.json: weft.nodeFlags")).toThrow('pkg.json: weft.nodeFlags: must be a list of "--flag[=value]" Node options');
    expect(() => nodeFlagsFrom(["--a", "--b; rm -rf /"], "pkg.json: weft.nodeFlags")).toThrow('pkg.json: weft.nodeFlags[1] "--b; rm -rf /" is not a "--flag[=value]" Node option');
    expect(() => nodeFlagsFrom([42], "x")).toThrow("x[0] 42 is not");
  });

  it("weftBinary() finds the agent's bundle (package.json bin) next to those flags", () => {
    expect(weftBinary("@weft/agent", "weft-agent")).toMatch(/packages\/agent\/dist\/bundle\/weft-agent\.mjs$/);
  });
});
