import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENVOY_REV0_PATH } from "../test-util/testdata.js";
import { poller } from "../test-util/until.js";

// Serves envoy-rev0.json exactly as pilot-agent wrote it, in a network
// namespace of our own so its fixed ports (15000, 15090, 15021) can't clash.
const BIN = fileURLToPath(new URL("../../dist/bundle/weft-proxy.mjs", import.meta.url));
const canNetns = process.getuid?.() === 0 && spawnSync("ip", ["netns", "list"]).status === 0;
const NS = `weft-rev0-${process.pid}`;
const inNs = (...cmd: string[]) => spawnSync("ip", ["netns", "exec", NS, ...cmd], { encoding: "utf8", timeout: 10_000 });

let child: ChildProcess | undefined;
let exited: Promise<number | null> | undefined;

const until = poller({ timeoutMs: 30_000, stepMs: 200 });

describe.skipIf(!canNetns || !existsSync(BIN))("weft-proxy -c envoy-rev0.json (serve, in a network namespace)", () => {
  beforeAll(async () => {
    execFileSync("ip", ["netns", "add", NS]);
    execFileSync("ip", ["-n", NS, "link", "set", "lo", "up"]);
    const cwd = mkdtempSync(join(tmpdir(), "weft-rev0-"));
    child = spawn("ip", ["netns", "exec", NS, process.execPath, BIN, "-c", ENVOY_REV0_PATH, "-l", "error"], { cwd, stdio: "ignore" });
    exited = new Promise((r) => child!.on("exit", (code) => r(code)));
    await until(() => inNs("curl", "-s", "-o", "/dev/null", "127.0.0.1:15000/ready").status === 0, "the admin port");
    await until(() => inNs("curl", "-s", "-o", "/dev/null", "127.0.0.1:15090/stats/prometheus").status === 0, "the 15090 listener");
  }, 60_000);

  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
    }
    spawnSync("ip", ["netns", "del", NS]);
  });

  it("serves Prometheus stats through the static 15090 listener → prometheus_stats cluster → admin, and promtool parses them", () => {
    const r = inNs("curl", "-sS", "127.0.0.1:15090/stats/prometheus");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("# TYPE envoy_server_live gauge");
    expect(r.stdout).toMatch(/envoy_listener_downstream_cx_total\{listener_address="0\.0\.0\.0_15090"\} [1-9]/);
    if (spawnSync("promtool", ["--version"]).status !== 0) return;
    const check = spawnSync("promtool", ["check", "metrics"], { input: r.stdout, encoding: "utf8" });
    expect(check.status, check.stdout + check.stderr).not.toBe(1);
    expect((check.stdout + check.stderr).split("\n").filter((l) => l.trim() && !l.includes('"_total" suffix'))).toEqual([]);
  });

  it("keeps the admin up while the XDS socket is missing (discovery gone)", () => {
    const r = inNs("curl", "-sS", "127.0.0.1:15000/stats?filter=^control_plane");
    expect(r.stdout).toContain("control_plane.connected_state: 0");
    const info = JSON.parse(inNs("curl", "-sS", "127.0.0.1:15000/server_info").stdout) as { node: { id: string } };
    expect(info.node.id).toBe("sidecar~10.244.1.10~productpage-v1-5d9b4c9849-c6rbk.default~default.svc.cluster.local");
  });

  it("exits 0 on SIGTERM", async () => {
    child!.kill("SIGTERM");
    expect(await exited).toBe(0);
  });
});
