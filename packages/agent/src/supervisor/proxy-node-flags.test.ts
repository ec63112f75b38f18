import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { proxyNodeFlags } from "./proxy-node-flags.js";
import { resolveProxyBinary } from "./resolve-proxy-binary.js";

/** A fake installed @weft/proxy: package.json with `weft`, the entry point, and an npm .bin symlink to it. */
function fakeProxyPackage(weft: unknown, name = "@weft/proxy"): { root: string; entry: string; shim: string } {
  const root = mkdtempSync(join(tmpdir(), "weft-flags-"));
  const pkg = join(root, "node_modules", "@weft", "proxy");
  mkdirSync(join(pkg, "dist", "bin"), { recursive: true });
  mkdirSync(join(root, "node_modules", ".bin"));
  writeFileSync(join(pkg, "package.json"), JSON.stringify({ name, bin: { "weft-proxy": "./dist/bin/weft-proxy.js" }, weft }));
  const entry = join(pkg, "dist", "bin", "weft-proxy.js");
  writeFileSync(entry, "");
  const shim = join(root, "node_modules", ".bin", "weft-proxy");
  symlinkSync("../@weft/proxy/dist/bin/weft-proxy.js", shim);
  return { root, entry, shim };
}

describe("proxyNodeFlags()", () => {
  it("reads weft.nodeFlags of the entry point's @weft/proxy package, through an npm .bin symlink too", () => {
    const { entry, shim } = fakeProxyPackage({ nodeFlags: ["--max-semi-space-size=1"] });
    expect(proxyNodeFlags(entry, {})).toEqual(["--max-semi-space-size=1"]);
    expect(proxyNodeFlags(shim, {})).toEqual(["--max-semi-space-size=1"]);
  });

  it("gives none for another package's script, or a package without the field", () => {
    expect(proxyNodeFlags(fakeProxyPackage({ nodeFlags: ["--x"] }, "someone-else").entry, {})).toEqual([]);
    expect(proxyNodeFlags(fakeProxyPackage(undefined).entry, {})).toEqual([]);
  });

  it("WEFT_PROXY_NODE_FLAGS overrides them (empty: none)", () => {
    const { entry } = fakeProxyPackage({ nodeFlags: ["--max-semi-space-size=1"] });
    expect(proxyNodeFlags(entry, { WEFT_PROXY_NODE_FLAGS: " --max-semi-space-size=4  --no-opt " })).toEqual(["--max-semi-space-size=4", "--no-opt"]);
    expect(proxyNodeFlags(entry, { WEFT_PROXY_NODE_FLAGS: "" })).toEqual([]);
  });

  it("names a bad flag and where it came from", () => {
    const { entry } = fakeProxyPackage({ nodeFlags: ["--ok", "rm -rf"] });
    expect(() => proxyNodeFlags(entry, {})).toThrow(/package\.json: weft\.nodeFlags\[1\] "rm -rf" is not a "--flag\[=value\]" Node option/);
    expect(() => proxyNodeFlags(entry, { WEFT_PROXY_NODE_FLAGS: "--a -b" })).toThrow('WEFT_PROXY_NODE_FLAGS[1] "-b" is not');
  });

  it("the real weft-proxy's flags are @weft/proxy's package.json weft.nodeFlags", () => {
    const proxyPkg = fileURLToPath(new URL("../../../proxy/package.json", import.meta.url));
    const declared = (JSON.parse(readFileSync(proxyPkg, "utf8")) as { weft: { nodeFlags: string[] } }).weft.nodeFlags;
    expect(declared.length).toBeGreaterThan(0);
    expect(proxyNodeFlags(join(proxyPkg, "..", "src", "bin", "weft-proxy.ts"), {})).toEqual(declared);
  });
});

describe("resolveProxyBinary() with node flags", () => {
  it("starts weft-proxy as node <flags> <entry>, given its JS entry point or npm's .bin symlink", () => {
    const { entry, shim } = fakeProxyPackage({ nodeFlags: ["--max-semi-space-size=1"] });
    expect(resolveProxyBinary(entry, {})).toEqual({ command: process.execPath, prefixArgs: ["--max-semi-space-size=1", entry], description: entry, file: entry });
    expect(resolveProxyBinary(shim, {})).toEqual({ command: process.execPath, prefixArgs: ["--max-semi-space-size=1", shim], description: shim, file: shim });
  });

  it("finds this repo's weft-proxy by name and gives it its flags", () => {
    const found = resolveProxyBinary("weft-proxy", {});
    expect(found.command).toBe(process.execPath);
    expect(found.prefixArgs.at(-1)).toMatch(/weft-proxy(\.m?js)?$/);
    expect(found.prefixArgs.slice(0, -1)).toEqual(proxyNodeFlags(found.prefixArgs.at(-1)!, {}));
    expect(found.prefixArgs.length).toBeGreaterThan(1);
  });
});
