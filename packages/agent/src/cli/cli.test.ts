import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AGENT_BIN, REPO, TSX } from "../test-util/agent-harness.js";
import { freePort } from "../test-util/httpbin.js";
import { productpageEnv } from "../test-util/productpage-env.js";

const PROXY_BIN = join(REPO, "packages/proxy/dist/bundle/weft-proxy.mjs");
const run = (args: string[], env: Record<string, string>) => spawnSync(TSX, [AGENT_BIN, ...args], { env: { PATH: process.env.PATH ?? "", ...env }, encoding: "utf8", timeout: 60_000 });

describe("weft-agent bootstrap sidecar", { timeout: 90_000 }, () => {
  const agentDir = mkdtempSync(join(tmpdir(), "weft-agent-cli-"));
  const r = run(["bootstrap", "sidecar", "--domain", "default.svc.cluster.local"], productpageEnv(agentDir));

  it("prints the productpage pod's bootstrap with Istio's node id and cluster", () => {
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const b = JSON.parse(r.stdout);
    expect(b.node.id).toBe("sidecar~10.244.1.10~productpage-v1-5d9b4c9849-c6rbk.default~default.svc.cluster.local");
    expect(b.node.cluster).toBe("productpage.default");
  });

  it.skipIf(!existsSync(PROXY_BIN))(`is accepted by weft-proxy --mode validate${existsSync(PROXY_BIN) ? "" : " (skipped: packages/proxy/dist/bundle/weft-proxy.mjs is not built)"}`, () => {
    const file = join(agentDir, "envoy-rev.json");
    writeFileSync(file, r.stdout);
    const v = spawnSync(process.execPath, [PROXY_BIN, "--mode", "validate", "-c", file], { encoding: "utf8", timeout: 30_000 });
    expect(v.stderr + v.stdout).not.toMatch(/error|invalid/i);
    expect(v.status).toBe(0);
  });

  it("names the variable at fault for a bad environment", { timeout: 90_000 }, () => {
    const bad = run(["bootstrap", "sidecar"], { ...productpageEnv(agentDir), INSTANCE_IP: "10.244.1" });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/INSTANCE_IP: "10\.244\.1" is not an IP address/);
    const badPc = run(["bootstrap", "sidecar"], { ...productpageEnv(agentDir), PROXY_CONFIG: "drainDuration: forever" });
    expect(badPc.stderr).toMatch(/PROXY_CONFIG\.drainDuration: "forever" is not a duration/);
    const badType = run(["bootstrap", "gateway"], productpageEnv(agentDir));
    expect(badType.stderr).toMatch(/expected "sidecar" or "router"/);
  });
});

describe("weft-agent iptables --dry-run", { timeout: 60_000 }, () => {
  it("prints the golden nat rules", () => {
    const r = run(["iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT", "-i", "*", "-x", "", "-b", "*", "-d", "15090,15021,15020", "--dry-run"], {});
    const golden = readFileSync("/work/shared/testdata/istio-iptables-nat.txt", "utf8").split("\n");
    expect(r.stdout.trimEnd().split("\n")).toEqual(golden.slice(golden.indexOf("*nat"), golden.indexOf("COMMIT") + 1));
  });
});

describe("weft-agent wait", () => {
  it("gives up with the last error after --timeout", { timeout: 30_000 }, async () => {
    const port = await freePort();
    const r = run(["wait", "--timeout", "1s", "--url", `http://127.0.0.1:${port}/healthz/ready`, "--periodMillis", "200"], {});
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/timeout waiting for the proxy to become ready at http:\/\/127\.0\.0\.1:\d+\/healthz\/ready\. Last error: .*ECONNREFUSED/);
  });
});
