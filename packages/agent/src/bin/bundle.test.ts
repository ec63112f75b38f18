import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AGENT_BIN, REPO, TSX } from "../test-util/agent-harness.js";
import { productpageEnv } from "../test-util/productpage-env.js";

// package.json's `bin` is the esbuild bundle (scripts/bundle-bin.mjs, the last step of nx run agent:build).
const BUNDLE = join(REPO, "packages/agent/dist/bundle/weft-agent.mjs");
// The bootstrap is rendered by a child process from its own bundle beside it (bootstrap/render-in-child.ts).
const CHILD_BUNDLE = join(REPO, "packages/agent/dist/bundle/bootstrap-child.mjs");

describe.skipIf(!existsSync(BUNDLE))(`weft-agent's bundle${existsSync(BUNDLE) ? "" : " (skipped: packages/agent/dist/bundle/weft-agent.mjs is not built)"}`, { timeout: 90_000 }, () => {
  it("runs from a copy with no node_modules anywhere above it and prints the same bootstrap as the sources", () => {
    const pkg = join(mkdtempSync(join(tmpdir(), "weft-agent-bundle-")), "agent");
    mkdirSync(join(pkg, "dist", "bundle"), { recursive: true });
    copyFileSync(join(REPO, "packages/agent/package.json"), join(pkg, "package.json"));
    copyFileSync(BUNDLE, join(pkg, "dist", "bundle", "weft-agent.mjs"));
    copyFileSync(CHILD_BUNDLE, join(pkg, "dist", "bundle", "bootstrap-child.mjs"));
    const agentDir = mkdtempSync(join(tmpdir(), "weft-agent-bundle-run-"));
    const env = { PATH: process.env.PATH ?? "", ...productpageEnv(agentDir) };
    const args = ["bootstrap", "sidecar", "--domain", "default.svc.cluster.local"];
    const bundled = spawnSync(process.execPath, [join(pkg, "dist", "bundle", "weft-agent.mjs"), ...args], { env, encoding: "utf8", cwd: pkg, timeout: 60_000 });
    expect(bundled.stderr).toBe("");
    expect(bundled.status).toBe(0);
    const sources = spawnSync(TSX, [AGENT_BIN, ...args], { env, encoding: "utf8", timeout: 60_000 });
    expect(sources.status, sources.stderr).toBe(0);
    expect(JSON.parse(bundled.stdout)).toEqual(JSON.parse(sources.stdout));
  });

  it("leaves the Bootstrap schema and xds-api's registry out of the agent's own bundle: only the renderer child's holds them", () => {
    // esbuild keeps identifiers, so a generated file's descriptor constant and the registry's table are findable by name.
    const agent = readFileSync(BUNDLE, "utf8");
    const child = readFileSync(CHILD_BUNDLE, "utf8");
    for (const marker of ["file_envoy_config_bootstrap_v3_bootstrap", "embeddedFiles"]) {
      expect(agent, marker).not.toContain(marker);
      expect(child, marker).toContain(marker);
    }
  });

  it("says what to do when the renderer's bundle is missing", () => {
    const pkg = mkdtempSync(join(tmpdir(), "weft-agent-bundle-nochild-"));
    mkdirSync(join(pkg, "dist", "bundle"), { recursive: true });
    copyFileSync(BUNDLE, join(pkg, "dist", "bundle", "weft-agent.mjs"));
    const env = { PATH: process.env.PATH ?? "", ...productpageEnv(mkdtempSync(join(tmpdir(), "weft-agent-bundle-run-"))) };
    const r = spawnSync(process.execPath, [join(pkg, "dist", "bundle", "weft-agent.mjs"), "bootstrap", "sidecar"], { env, encoding: "utf8", timeout: 60_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("bootstrap-child.mjs (or .js) is missing — rebuild or reinstall @weft/agent");
  });

  it("keeps the CLI's errors and exit codes", () => {
    const r = spawnSync(process.execPath, [BUNDLE, "nonsense"], { encoding: "utf8", timeout: 30_000 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('weft-agent: unknown command "nonsense"');
    expect(spawnSync(process.execPath, [BUNDLE, "version"], { encoding: "utf8" }).stdout).toMatch(/^weft-agent \d+\.\d+\.\d+/);
  });
});
