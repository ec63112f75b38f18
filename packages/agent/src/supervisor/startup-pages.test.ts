// Finding the proxy's native addon from the proxy file the agent runs.
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO } from "../test-util/agent-harness.js";
import { proxyPagesAddon, startupPagesReleaseWanted } from "./startup-pages.js";

const PROXY_BUNDLE = join(REPO, "packages/proxy/dist/bundle/weft-proxy.mjs");
const ADDON_BUILT = join(REPO, "packages/proxy/native/build/Release/weft_socket.node");

describe("proxyPagesAddon()", () => {
  it.skipIf(process.platform !== "linux")("loads the addon of the @weft/proxy package the proxy file is in", () => {
    const addon = proxyPagesAddon(PROXY_BUNDLE);
    if (typeof addon === "string") expect(addon).toContain(ADDON_BUILT); // not built here: the reason names it
    else expect(typeof addon.releaseStartupPages).toBe("function");
  });

  it("says why for a file outside @weft/proxy, or a package without the addon", () => {
    const dir = mkdtempSync(join(tmpdir(), "weft-pages-"));
    writeFileSync(join(dir, "envoy"), "");
    expect(proxyPagesAddon(join(dir, "envoy"))).toMatch(/is not in an npm package|is not @weft\/proxy/);
    const other = join(dir, "other");
    mkdirSync(join(other, "bin"), { recursive: true });
    writeFileSync(join(other, "package.json"), JSON.stringify({ name: "some-proxy" }));
    writeFileSync(join(other, "bin/p.mjs"), "");
    expect(proxyPagesAddon(join(other, "bin/p.mjs"))).toBe(`${join(other, "bin/p.mjs")} is not @weft/proxy`);
    const unbuilt = join(dir, "proxy");
    mkdirSync(join(unbuilt, "dist"), { recursive: true });
    writeFileSync(join(unbuilt, "package.json"), JSON.stringify({ name: "@weft/proxy" }));
    writeFileSync(join(unbuilt, "dist/p.mjs"), "");
    expect(proxyPagesAddon(join(unbuilt, "dist/p.mjs"))).toBe(`${join(unbuilt, "native/build/Release/weft_socket.node")} is not built`);
  });

  it("is on unless WEFT_KEEP_STARTUP_PAGES=1", () => {
    expect(startupPagesReleaseWanted({})).toBe(true);
    expect(startupPagesReleaseWanted({ WEFT_KEEP_STARTUP_PAGES: "0" })).toBe(true);
    expect(startupPagesReleaseWanted({ WEFT_KEEP_STARTUP_PAGES: "1" })).toBe(false);
  });
});
