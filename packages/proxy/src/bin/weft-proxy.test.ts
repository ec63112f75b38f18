import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ENVOY_REV0_PATH } from "../test-util/testdata.js";

// The built binary, as the agent runs it (build first: nx run proxy:build).
const BIN = fileURLToPath(new URL("../../dist/bundle/weft-proxy.mjs", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "weft-bin-"));
const run = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd: dir, timeout: 20_000 });

describe.skipIf(!existsSync(BIN))("weft-proxy binary", () => {
  it("validates envoy-rev0.json and exits 0", () => {
    const r = run("-c", ENVOY_REV0_PATH, "--mode", "validate");
    expect(r.stdout).toBe(`configuration '${ENVOY_REV0_PATH}' OK\n`);
    expect(r.status, r.stderr).toBe(0);
  });

  it("fails a listener port of 70000 naming the field", () => {
    const path = join(dir, "port.yaml");
    writeFileSync(path, "static_resources:\n  listeners:\n  - name: bad\n    address: { socket_address: { address: 127.0.0.1, port_value: 70000 } }\n    filter_chains: [{ filters: [] }]\n");
    const r = run("-c", path, "--mode", "validate");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("static_resources.listeners[0].address.socket_address.port_value: value must be less than or equal to 65535, got 70000");
  });

  it("fails a listener the data path rejects, naming listener and field", () => {
    const path = join(dir, "tcp.yaml");
    writeFileSync(
      path,
      `static_resources:
  listeners:
  - name: l1
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: x
          route_config: { virtual_hosts: [{ name: a, domains: ["*"], routes: [{ match: { safe_regex: { regex: "(unclosed" } }, route: { cluster: c } }] }] }
          http_filters: [{ name: envoy.filters.http.router, typed_config: { "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router } }]
`,
    );
    const r = run("-c", path, "--mode", "validate");
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/static_resources\.listeners\[0\]\.\S*safe_regex\S* \(listener 'l1'\)/);
  });

  it("rejects an unknown flag with usage, and accepts meaningless Envoy flags", () => {
    expect(run("--nope").status).toBe(1);
    const r = run("-c", ENVOY_REV0_PATH, "--mode", "validate", "--use-dynamic-base-id", "--disable-hot-restart");
    expect(r.status, r.stderr).toBe(0);
  });

  it("starts from a copy with no node_modules anywhere above it: one self-contained module", () => {
    // package.json's `bin` is the esbuild bundle (scripts/bundle-bin.mjs at the repo root); only yaml, re2-wasm and undici
    // are loaded from node_modules, lazily, when a config needs them — a JSON bootstrap needs none.
    const pkg = join(mkdtempSync(join(tmpdir(), "weft-bundle-")), "proxy");
    mkdirSync(join(pkg, "dist", "bundle"), { recursive: true });
    copyFileSync(fileURLToPath(new URL("../../package.json", import.meta.url)), join(pkg, "package.json"));
    copyFileSync(BIN, join(pkg, "dist", "bundle", "weft-proxy.mjs"));
    const r = spawnSync(process.execPath, [join(pkg, "dist", "bundle", "weft-proxy.mjs"), "-c", ENVOY_REV0_PATH, "--mode", "validate"], { encoding: "utf8", cwd: pkg, timeout: 20_000 });
    expect(r.stderr).not.toMatch(/Cannot find (module|package)/);
    expect(r.stdout).toBe(`configuration '${ENVOY_REV0_PATH}' OK\n`);
    expect(r.status, r.stderr).toBe(0);
  });

  it("prints --version", () => {
    expect(run("--version").stdout).toMatch(/^weft-proxy version: \d+\.\d+\.\d+/);
  });
});

describe.skipIf(!existsSync(BIN))("weft-proxy binary in serve mode", () => {
  const BOOT = "admin: { address: { socket_address: { address: 127.0.0.1, port_value: 0 } } }\nnode: { id: n1, cluster: c1 }\n";

  async function serve(...extra: string[]) {
    const { spawn } = await import("node:child_process");
    const child = spawn(process.execPath, [BIN, "--config-yaml", BOOT, "-l", "info", ...extra], { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    const deadline = Date.now() + 15_000;
    let port = 0;
    while (!port && Date.now() < deadline) {
      const m = /"address":"127\.0\.0\.1:(\d+)".*admin listening/.exec(stderr);
      if (m) port = Number(m[1]);
      else await new Promise((r) => setTimeout(r, 50));
    }
    if (!port) {
      child.kill("SIGKILL");
      throw new Error(`admin never came up: ${stderr}`);
    }
    return { child, port, exited, stderr: () => stderr };
  }

  it("goes LIVE, then drains and exits 0 on SIGTERM", async () => {
    const p = await serve("--drain-time-s", "1");
    const ready = await fetch(`http://127.0.0.1:${p.port}/ready`);
    expect(await ready.text()).toBe("LIVE\n");
    const info = (await (await fetch(`http://127.0.0.1:${p.port}/server_info`)).json()) as { node: { id: string }; state: string };
    expect(info).toMatchObject({ node: { id: "n1" }, state: "LIVE" });
    p.child.kill("SIGTERM");
    expect(await p.exited).toBe(0);
    expect(p.stderr()).toContain("SIGTERM: draining then exiting");
  });

  it("exits 0 on POST /quitquitquit", async () => {
    const p = await serve();
    expect((await fetch(`http://127.0.0.1:${p.port}/quitquitquit`, { method: "POST" })).status).toBe(200);
    expect(await p.exited).toBe(0);
  });

  it("warns once about meaningless flags", async () => {
    const p = await serve("--use-dynamic-base-id", "--enable-mutex-tracing");
    p.child.kill("SIGINT");
    await p.exited;
    expect(p.stderr().match(/ignoring Envoy flags/g)).toHaveLength(1);
    expect(p.stderr()).toContain("--use-dynamic-base-id, --enable-mutex-tracing");
  });
});
