import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AGENT_BIN, exited, REPO, TSX, waitFor } from "../test-util/agent-harness.js";

/**
 * The whole sidecar with real capture: a pod network namespace with weft-agent's iptables
 * rules, weft-agent and weft-proxy running as uid 1337, and weft-discovery plus Debian's
 * httpbin in a peer namespace behind a veth pair. An app (curl, as root) calls the
 * httpbin Service VIP; capture sends it through the proxy, whose config came through the
 * agent's XDS socket.
 */
const DISCOVERY_BIN = join(REPO, "packages/discovery/dist/bin/weft-discovery.js");
const PROXY_BIN = join(REPO, "packages/proxy/dist/bundle/weft-proxy.mjs");

function missing(): string | undefined {
  if (process.getuid?.() !== 0) return "not root: network namespaces and iptables need root";
  for (const p of [DISCOVERY_BIN, PROXY_BIN]) if (!existsSync(p)) return `${p} is not built`;
  if (!existsSync("/usr/lib/python3/dist-packages/httpbin/__init__.py")) return "python3-httpbin is not installed";
  for (const tool of ["ip", "iptables-restore", "setpriv", "curl"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`]);
    } catch {
      return `${tool} is not installed`;
    }
  }
  return undefined;
}
const skip = missing();
if (skip) console.warn(`agent-netns.test.ts skipped: ${skip}`);

const id = randomBytes(3).toString("hex");
const POD = `weft-agent-${id}`;
const PEER = `weft-agent-${id}-peer`;
const octet = 100 + (parseInt(id.slice(2, 4), 16) % 100);
const POD_IP = `10.252.${octet}.1`;
const PEER_IP = `10.252.${octet}.2`;
const VIP = "10.96.77.50";

const inNs = (ns: string, args: string[]) => execFileSync("ip", ["netns", "exec", ns, ...args], { encoding: "utf8", timeout: 20_000 });
const curl = (path: string) => {
  try {
    return inNs(POD, ["curl", "-s", "-m", "5", "-w", "\n%{http_code}", `http://${VIP}:8000${path}`]);
  } catch (err) {
    return `ERR ${(err as { stdout?: string }).stdout ?? String(err)}`;
  }
};
const statusOf = (out: string) => out.trim().split("\n").at(-1);
const local = (port: number, path: string) => {
  try {
    return inNs(POD, ["curl", "-s", "-m", "3", "-o", "/dev/null", "-w", "%{http_code}", `http://127.0.0.1:${port}${path}`]);
  } catch (err) {
    return String((err as { stdout?: string }).stdout ?? "000");
  }
};

const agentMetrics = () => {
  try {
    return inNs(POD, ["curl", "-s", "-m", "3", "http://127.0.0.1:15020/stats/prometheus"]);
  } catch {
    return "";
  }
};

const mesh = `apiVersion: v1
kind: Service
metadata: {name: httpbin, namespace: default}
spec:
  clusterIP: ${VIP}
  selector: {app: httpbin}
  ports: [{name: http, port: 8000, targetPort: 8000, protocol: TCP}]
---
apiVersion: v1
kind: Pod
metadata: {name: httpbin-0, namespace: default, labels: {app: httpbin}}
spec: {serviceAccountName: httpbin, containers: [{name: httpbin, image: httpbin, ports: [{containerPort: 8000}]}]}
status: {phase: Running, podIP: ${PEER_IP}, conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: sleep-0, namespace: default, labels: {app: sleep, security.istio.io/tlsMode: istio}}
spec: {serviceAccountName: sleep, containers: [{name: sleep, image: sleep}]}
status: {phase: Running, podIP: ${POD_IP}, conditions: [{type: Ready, status: "True"}]}
`;

describe.skipIf(skip !== undefined)("weft-agent + weft-proxy with real capture, weft-discovery across a veth", () => {
  const procs: ChildProcess[] = [];
  let discovery: ChildProcess | undefined;
  let agent: ChildProcess;
  let dir: string;

  const startDiscovery = () => {
    discovery = spawn("ip", ["netns", "exec", PEER, process.execPath, DISCOVERY_BIN, "--config-dir", join(dir, "mesh"), "--grpc-addr", `${PEER_IP}:15010`, "--http-addr", `${PEER_IP}:18080`, "--monitoring-addr", `${PEER_IP}:15014`, "--mesh-config", join(dir, "meshconfig.yaml"), "--log-level", "warn"], { stdio: "inherit" });
    procs.push(discovery);
  };

  beforeAll(async () => {
    execFileSync("ip", ["netns", "add", POD]);
    execFileSync("ip", ["netns", "add", PEER]);
    execFileSync("ip", ["link", "add", `wa${id}`, "type", "veth", "peer", "name", `wb${id}`]);
    execFileSync("ip", ["link", "set", `wa${id}`, "netns", POD]);
    execFileSync("ip", ["link", "set", `wb${id}`, "netns", PEER]);
    for (const [ns, dev, ip] of [
      [POD, `wa${id}`, POD_IP],
      [PEER, `wb${id}`, PEER_IP],
    ]) {
      inNs(ns, ["ip", "addr", "add", `${ip}/24`, "dev", dev]);
      inNs(ns, ["ip", "link", "set", dev, "up"]);
      inNs(ns, ["ip", "link", "set", "lo", "up"]);
    }
    inNs(POD, ["ip", "route", "add", "default", "via", PEER_IP]);

    dir = mkdtempSync(join(tmpdir(), "wa-ns-"));
    chmodSync(dir, 0o777);
    mkdirSync(join(dir, "mesh"));
    writeFileSync(join(dir, "mesh", "mesh.yaml"), mesh);
    // This test is about capture and the xDS relay, with placeholder certificates: no auto mTLS
    // (with it the outbound cluster would wait for real SDS secrets, as Envoy's does).
    writeFileSync(join(dir, "meshconfig.yaml"), "enableAutoMtls: false\n");
    for (const f of ["cert-chain.pem", "key.pem", "root-cert.pem"]) writeFileSync(join(dir, f), "PEM");

    const httpbin = spawn("ip", ["netns", "exec", PEER, "/usr/bin/python3", "-m", "httpbin.core", "--host", PEER_IP, "--port", "8000"], { stdio: "ignore" });
    procs.push(httpbin);
    startDiscovery();

    execFileSync("ip", ["netns", "exec", POD, TSX, AGENT_BIN, "iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT", "-i", "*", "-x", "", "-b", "*", "-d", "15090,15021,15020"]);

    agent = spawn(
      "ip",
      ["netns", "exec", POD, "setpriv", "--reuid=1337", "--regid=1337", "--clear-groups", TSX, AGENT_BIN, "proxy", "sidecar", "--proxy-binary", PROXY_BIN],
      {
        stdio: ["ignore", "inherit", "inherit"],
        env: {
          PATH: process.env.PATH ?? "",
          HOME: dir,
          POD_NAME: "sleep-0",
          POD_NAMESPACE: "default",
          INSTANCE_IP: POD_IP,
          SERVICE_ACCOUNT: "sleep",
          PROXY_CONFIG: JSON.stringify({ discoveryAddress: `${PEER_IP}:15010`, terminationDrainDuration: "2s", tracing: null }),
          WEFT_AGENT_DIR: dir,
          WEFT_POD_INFO_DIR: join(dir, "no-podinfo"),
          OUTPUT_CERTS: dir,
          WEFT_LOG_LEVEL: process.env.TEST_LOG ?? "warn",
        },
      },
    );
    procs.push(agent);
    await waitFor(() => local(15021, "/healthz/ready") === "200", "sidecar ready", 60_000);
  }, 120_000);

  afterAll(() => {
    for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
    for (const ns of [POD, PEER]) {
      try {
        execFileSync("ip", ["netns", "del", ns]);
      } catch {
        /* gone */
      }
    }
  });

  it("sends the app's call to the Service VIP through the proxy to httpbin", () => {
    const out = curl("/headers");
    expect(statusOf(out)).toBe("200");
    // Headers only the proxy adds prove the request went through it (the VIP exists nowhere else).
    expect(out).toMatch(/"X-Envoy-Attempt-Count":\s*"1"/);
    expect(out).toMatch(/"X-B3-Traceid":/);
  });

  it("keeps traffic flowing while discovery is down, and reconnects when it returns", { timeout: 90_000 }, async () => {
    discovery!.kill("SIGKILL");
    await exited(discovery!);
    await waitFor(() => /^istio_agent_xds_proxy_connected 0$/m.test(agentMetrics()), "agent noticed discovery is gone", 30_000);
    expect(statusOf(curl("/get"))).toBe("200");
    expect(local(15021, "/healthz/ready")).toBe("200");
    startDiscovery();
    await waitFor(() => /^istio_agent_xds_proxy_connected 1$/m.test(agentMetrics()), "agent reconnected to discovery", 60_000);
    expect(statusOf(curl("/get"))).toBe("200");
  });

  it("restarts the proxy when it is killed, and traffic resumes", { timeout: 90_000 }, async () => {
    const pid = execFileSync("pgrep", ["-f", `${PROXY_BIN} -c ${dir}`], { encoding: "utf8" }).trim().split("\n")[0];
    process.kill(Number(pid), "SIGKILL");
    await waitFor(() => /^istio_agent_proxy_restarts_total 1$/m.test(agentMetrics()), "restart", 30_000);
    await waitFor(() => local(15021, "/healthz/ready") === "200", "ready again", 60_000);
    expect(statusOf(curl("/get"))).toBe("200");
  });

  it("drains and exits within terminationDrainDuration on SIGTERM", { timeout: 30_000 }, async () => {
    const t0 = Date.now();
    agent.kill("SIGTERM");
    expect(await exited(agent)).toBe(0);
    expect(Date.now() - t0).toBeLessThan(2000 + 250);
  });
});
