import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { applyRuntimeV8Flags, parseNodeFlags, PROXY_NODE_FLAGS, PROXY_RUNTIME_V8_FLAGS, withNodeFlags } from "./node-flags.js";

describe("PROXY_NODE_FLAGS", () => {
  it("is package.json's weft.nodeFlags and caps the young generation", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { weft: { nodeFlags: string[] } };
    expect([...PROXY_NODE_FLAGS]).toEqual(pkg.weft.nodeFlags);
    expect(PROXY_NODE_FLAGS.some((f) => f.startsWith("--max-semi-space-size="))).toBe(true);
    expect(Object.isFrozen(PROXY_NODE_FLAGS)).toBe(true);
  });
});

describe("parseNodeFlags", () => {
  it("accepts --flag and --flag=value, and nothing for an absent field", () => {
    expect(parseNodeFlags(["--max-semi-space-size=2", "--no-opt"], "x")).toEqual(["--max-semi-space-size=2", "--no-opt"]);
    expect(parseNodeFlags(undefined, "x")).toEqual([]);
  });

  it("names the entry at fault", () => {
    expect(() => parseNodeFlags("--a", "pkg: weft.nodeFlags")).toThrow("pkg: weft.nodeFlags must be an array");
    expect(() => parseNodeFlags(["--ok", "-x"], "pkg: weft.nodeFlags")).toThrow('pkg: weft.nodeFlags[1] "-x" is not a "--flag[=value]" Node option');
    expect(() => parseNodeFlags(["--a=b c"], "F")).toThrow("F[0]");
    expect(() => parseNodeFlags([3], "F")).toThrow("F[0] 3");
  });
});

describe("withNodeFlags", () => {
  it("adds the flags the exec argv does not set", () => {
    expect(withNodeFlags([], ["--max-semi-space-size=1"])).toEqual(["--max-semi-space-size=1"]);
    expect(withNodeFlags(["--import", "tsx"], ["--max-semi-space-size=1"])).toEqual(["--import", "tsx", "--max-semi-space-size=1"]);
  });

  it("keeps a value the process was started with (by name; _ and - alike)", () => {
    expect(withNodeFlags(["--max-semi-space-size=4"], ["--max-semi-space-size=1"])).toEqual(["--max-semi-space-size=4"]);
    expect(withNodeFlags(["--max_semi_space_size=4"], ["--max-semi-space-size=1"])).toEqual(["--max_semi_space_size=4"]);
  });
});

describe("PROXY_RUNTIME_V8_FLAGS", () => {
  it("are flags this Node's V8 knows (an unknown one would only be reported on stderr)", () => {
    expect(PROXY_RUNTIME_V8_FLAGS).toContain("--heap-growing-percent=50");
    // Given on the command line, V8 refuses unknown flags: each of ours must start a process.
    const r = spawnSync(process.execPath, [...PROXY_RUNTIME_V8_FLAGS, ...PROXY_NODE_FLAGS, "-e", "0"], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
  });

  it("WEFT_PROXY_RUNTIME_V8_FLAGS replaces them (empty: none) and is checked", () => {
    expect(applyRuntimeV8Flags({ WEFT_PROXY_RUNTIME_V8_FLAGS: "" })).toEqual([]);
    expect(applyRuntimeV8Flags({})).toEqual([...PROXY_RUNTIME_V8_FLAGS]);
    expect(() => applyRuntimeV8Flags({ WEFT_PROXY_RUNTIME_V8_FLAGS: "--ok bad" })).toThrow('WEFT_PROXY_RUNTIME_V8_FLAGS[1] "bad" is not');
  });

  it("are applied by the weft-proxy entry point before anything else", () => {
    const bin = readFileSync(fileURLToPath(new URL("../bin/weft-proxy.ts", import.meta.url)), "utf8");
    expect(bin).toMatch(/^applyRuntimeV8Flags\(\);$/m);
  });
});
