// The weft-discovery binary against a real xDS client no one here wrote:
// @grpc/grpc-js-xds (proxyless gRPC, node metadata GENERATOR=grpc) calling
// xds:///echo.default.svc.cluster.local:7070, whose endpoints are two grpc-js
// servers on 127.0.0.2 and 127.0.0.3 described in a YAML directory.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { startDiscovery, startEchoServers, startXdsClient, type Discovery, type EchoServers, type XdsClient } from "../test-util/grpc-xds-scenario.js";

const TARGET = "xds:///echo.default.svc.cluster.local:7070";
const NODE = "sidecar~127.0.0.10~client-0.default~default.svc.cluster.local";
const BIN = fileURLToPath(new URL("./weft-discovery.ts", import.meta.url));
const IPS = ["127.0.0.2", "127.0.0.3"];

let dir: string;
let discovery: Discovery | undefined;
let echo: EchoServers | undefined;
let client: XdsClient | undefined;

afterEach(async () => {
  await client?.stop();
  await discovery?.stop();
  await echo?.stop();
  client = discovery = echo = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function service(targetPort: number): string {
  return `apiVersion: v1
kind: Service
metadata: {name: echo, namespace: default}
spec:
  selector: {app: echo}
  ports: [{name: grpc, port: 7070, targetPort: ${targetPort}, protocol: TCP}]
`;
}

function pod(name: string, ip: string, version: string): string {
  return `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: default, labels: {app: echo, version: ${version}}}
spec: {serviceAccountName: echo, containers: [{name: echo, image: echo}]}
status: {phase: Running, podIP: ${ip}, conditions: [{type: Ready, status: "True"}]}
`;
}

const SPLIT = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: echo, namespace: default}
spec:
  host: echo.default.svc.cluster.local
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo.default.svc.cluster.local]
  http:
  - route:
    - {destination: {host: echo.default.svc.cluster.local, subset: v1, port: {number: 7070}}, weight: 80}
    - {destination: {host: echo.default.svc.cluster.local, subset: v2, port: {number: 7070}}, weight: 20}
`;

async function mesh(extraFiles: Record<string, string> = {}): Promise<void> {
  echo = await startEchoServers(IPS);
  dir = mkdtempSync(join(tmpdir(), "weft-discovery-"));
  writeFileSync(join(dir, "service.yaml"), service(echo.port));
  writeFileSync(join(dir, "pod-v1.yaml"), pod("echo-v1", IPS[0], "v1"));
  writeFileSync(join(dir, "pod-v2.yaml"), pod("echo-v2", IPS[1], "v2"));
  for (const [name, text] of Object.entries(extraFiles)) writeFileSync(join(dir, name), text);
  discovery = await startDiscovery(dir);
  client = startXdsClient(discovery.grpcAddr, TARGET, NODE);
}

function explain(): string {
  return `\n--- weft-discovery stderr ---\n${discovery?.stderr().slice(-4000)}\n--- grpc-js-xds client stderr ---\n${client?.stderr().slice(-4000)}`;
}

describe("weft-discovery command line", { timeout: 60_000 }, () => {
  it("prints usage for --help and rejects unknown flags with exit code 2", () => {
    const help = spawnSync(process.execPath, ["--import", "tsx", BIN, "--help"], { encoding: "utf8" });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/Usage: weft-discovery --config-dir DIR/);
    const bad = spawnSync(process.execPath, ["--import", "tsx", BIN, "--config-dir", "/tmp", "--grpcAddr", "x"], { encoding: "utf8" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/weft-discovery: Unknown option '--grpcAddr'/);
    expect(bad.stderr).toMatch(/Usage:/);
  });

  it("fails clearly when the config directory does not exist", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", BIN, "--config-dir", "/nonexistent/weft", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--monitoring-addr", "127.0.0.1:0"], { encoding: "utf8", timeout: 50_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/\/nonexistent\/weft/);
  });
});

describe("proxyless gRPC (grpc-js-xds) against weft-discovery", { timeout: 150_000 }, () => {
  it("round-robins over both endpoints", async () => {
    await mesh();
    const r = await client!.call(200);
    expect(r.errors, `${r.lastError}${explain()}`).toBe(0);
    console.info(`round robin over 200 calls: ${JSON.stringify(r.counts)}`);
    expect(Object.keys(r.counts).sort()).toEqual(IPS);
    for (const ip of IPS) expect(r.counts[ip]).toBeGreaterThanOrEqual(80);
    // SIGTERM: graceful close, exit 0.
    const proc = discovery!.proc;
    await discovery!.stop();
    expect(proc.exitCode, explain()).toBe(0);
  });

  it("splits 80/20 across DestinationRule subsets as the VirtualService says", async () => {
    await mesh({ "split.yaml": SPLIT });
    await client!.call(20); // warm up: let every subset cluster connect
    const r = await client!.call(1000, 8);
    expect(r.errors, `${r.lastError}${explain()}`).toBe(0);
    const v1 = (r.counts[IPS[0]] ?? 0) / 1000;
    console.info(`80/20 split over 1000 calls: ${JSON.stringify(r.counts)}`);
    expect(v1, JSON.stringify(r.counts)).toBeGreaterThanOrEqual(0.75);
    expect(v1, JSON.stringify(r.counts)).toBeLessThanOrEqual(0.85);
  });

  it("stops sending to an endpoint within a second of its removal from the YAML", async () => {
    await mesh();
    const warm = await client!.call(50);
    expect(warm.errors, `${warm.lastError}${explain()}`).toBe(0);
    expect(warm.counts[IPS[1]]).toBeGreaterThan(0);
    const removedAt = performance.now();
    unlinkSync(join(dir, "pod-v2.yaml"));
    let lastHit = -1;
    let total = 0;
    while (performance.now() - removedAt < 2000) {
      const r = await client!.call(10, 2);
      total += 10;
      if ((r.counts[IPS[1]] ?? 0) > 0) lastHit = performance.now() - removedAt;
    }
    console.info(`removed endpoint: last call reached it ${lastHit.toFixed(0)} ms after its YAML was deleted (${total} calls in 2 s)`);
    expect(lastHit, explain()).toBeLessThan(1000);
    const after = await client!.call(100);
    expect(after.counts, explain()).toEqual({ [IPS[0]]: 100 });
    expect(total).toBeGreaterThan(0);
  });
});
