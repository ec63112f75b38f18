// Issue 7's must-show: certificates with a 1-minute TTL rotate under continuous traffic for
// 5 minutes through two sidecars in mTLS with zero failed requests.
//
// Real everything: weft-discovery (its CA on 15012, xDS over TLS there, auto mTLS), two pods
// in their own network namespaces with weft-agent's capture rules, weft-agent + weft-proxy as
// uid 1337 with SECRET_TTL=60s, Debian's httpbin as the server app, and a Node client app in
// the sleep pod. Two Services front httpbin: `httpbin` (pooled upstream connections, which
// must survive rotations) and `httpbin-fresh` (maxRequestsPerConnection 1: every request is
// a new mTLS handshake with the certificates of the moment). For each Service the client
// keeps one connection alive for the whole run and also opens a new one per request.
// httpbin echoes X-Forwarded-Client-Cert, which the server sidecar sets only for an mTLS
// peer: every response must carry By=…/sa/httpbin and URI=…/sa/sleep, and the client
// certificate's hash must change as the sleep sidecar's certificate rotates.
import { execFileSync, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AGENT_BIN, DISCOVERY_BIN, PROXY_BIN, TSX, waitFor } from "../test-util/agent-harness.js";
import { createNetnsMesh, netnsSkipReason, type NetnsMesh, type NetnsPod } from "../test-util/netns-mesh.js";

const TRAFFIC_LOOP = fileURLToPath(new URL("../test-util/traffic-loop.mjs", import.meta.url));
const HTTPBIN = "/usr/lib/python3/dist-packages/httpbin/__init__.py";
/** The issue says 5 minutes; WEFT_ROTATION_TEST_MS shortens it for local iteration only. */
const DURATION_MS = Number(process.env.WEFT_ROTATION_TEST_MS || 300_000);
const TTL_S = 60;
const VIP = "10.96.88.10";
const VIP_FRESH = "10.96.88.11";
const TOKENS = { httpbin: "rotation-httpbin-token-0123456789abcdefghijklmnop", sleep: "rotation-sleep-token-0123456789abcdefghijklmnopq" };

const skip = netnsSkipReason([DISCOVERY_BIN, PROXY_BIN, HTTPBIN]);
if (skip) console.warn(`rotation-under-traffic.test.ts skipped: ${skip}`);

const manifests = (pods: { httpbin: NetnsPod; sleep: NetnsPod }) => `apiVersion: v1
kind: Service
metadata: {name: httpbin, namespace: default}
spec:
  clusterIP: ${VIP}
  selector: {app: httpbin}
  ports: [{name: http, port: 8000, targetPort: 80, protocol: TCP}]
---
apiVersion: v1
kind: Service
metadata: {name: httpbin-fresh, namespace: default}
spec:
  clusterIP: ${VIP_FRESH}
  selector: {app: httpbin}
  ports: [{name: http, port: 8000, targetPort: 80, protocol: TCP}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: httpbin-fresh, namespace: default}
spec:
  host: httpbin-fresh.default.svc.cluster.local
  trafficPolicy:
    connectionPool:
      http: {maxRequestsPerConnection: 1}
---
apiVersion: v1
kind: Service
metadata: {name: sleep, namespace: default}
spec:
  selector: {app: sleep}
  ports: [{name: http, port: 80, protocol: TCP}]
---
apiVersion: v1
kind: Pod
metadata: {name: httpbin-0, namespace: default, labels: {app: httpbin, security.istio.io/tlsMode: istio}}
spec: {serviceAccountName: httpbin, containers: [{name: httpbin, image: httpbin, ports: [{containerPort: 80}]}]}
status: {phase: Running, podIP: ${pods.httpbin.ip}, conditions: [{type: Ready, status: "True"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: sleep-0, namespace: default, labels: {app: sleep, security.istio.io/tlsMode: istio}}
spec: {serviceAccountName: sleep, containers: [{name: sleep, image: curl}]}
status: {phase: Running, podIP: ${pods.sleep.ip}, conditions: [{type: Ready, status: "True"}]}
`;

describe.skipIf(skip !== undefined)("certificate rotation under traffic (1-minute certificates, two sidecars in mTLS)", () => {
  let net: NetnsMesh;
  let dir: string;
  let pods: { httpbin: NetnsPod; sleep: NetnsPod };
  const logs: Record<string, string> = {};

  const curl = (pod: NetnsPod, url: string, timeoutS = 5) => {
    try {
      return net.exec(pod.ns, ["curl", "-s", "-m", String(timeoutS), "-w", "\n%{http_code}", url]);
    } catch (error) {
      return `ERR ${(error as { stdout?: string }).stdout ?? String(error)}`;
    }
  };
  const issued = (name: string) => (readFileSync(logs[name]!, "utf8").match(/"msg":"workload certificate issued"/g) ?? []).length;
  const sdsPushes = (pod: NetnsPod) => Number(/^istio_agent_sds_pushes_total (\d+)$/m.exec(curl(pod, "http://127.0.0.1:15020/stats/prometheus"))?.[1] ?? -1);
  const tail = (name: string) => readFileSync(logs[name]!, "utf8").split("\n").slice(-40).join("\n");

  const startSidecar = (name: "httpbin" | "sleep", pod: NetnsPod) => {
    const podDir = join(dir, name);
    const agentDir = join(podDir, "agent");
    mkdirSync(agentDir, { recursive: true });
    mkdirSync(join(podDir, "podinfo"), { recursive: true });
    writeFileSync(join(podDir, "podinfo", "labels"), `app="${name}"\nsecurity.istio.io/tlsMode="istio"\n`);
    const token = join(podDir, "istio-token");
    writeFileSync(token, TOKENS[name], { mode: 0o400 });
    for (const p of [agentDir, token]) chownSync(p, 1337, 1337);
    logs[name] = join(dir, `${name}-sidecar.log`);
    const fd = openSync(logs[name]!, "a");
    net.spawn(pod.ns, ["setpriv", "--reuid=1337", "--regid=1337", "--clear-groups", TSX, AGENT_BIN, "proxy", "sidecar", "--proxy-binary", PROXY_BIN], {
      stdio: ["ignore", fd, fd],
      env: {
        PATH: process.env.PATH ?? "",
        HOME: agentDir,
        POD_NAME: `${name}-0`,
        POD_NAMESPACE: "default",
        INSTANCE_IP: pod.ip,
        SERVICE_ACCOUNT: name,
        CANONICAL_SERVICE: name,
        ISTIO_META_INTERCEPTION_MODE: "REDIRECT",
        PROXY_CONFIG: JSON.stringify({ discoveryAddress: `${net.hub.ip}:15012`, terminationDrainDuration: "2s", tracing: null }),
        CA_ADDR: `${net.hub.ip}:15012`,
        WEFT_CA_TOKEN_FILE: token,
        WEFT_CA_ROOT_CERT: join(dir, "ca", "root-cert.pem"),
        WEFT_CA_SERVERNAME: "istiod.istio-system.svc",
        SECRET_TTL: `${TTL_S}s`,
        WEFT_AGENT_DIR: agentDir,
        WEFT_POD_INFO_DIR: join(podDir, "podinfo"),
        WEFT_LOG_LEVEL: "info",
      },
    });
    closeSync(fd);
  };

  beforeAll(async () => {
    net = createNetnsMesh("wrot");
    pods = { httpbin: net.addPod("httpbin"), sleep: net.addPod("sleep") };
    dir = mkdtempSync(join(tmpdir(), "weft-rotation-"));
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, "mesh"));
    writeFileSync(join(dir, "mesh", "mesh.yaml"), manifests(pods));
    mkdirSync(join(dir, "ca"), { mode: 0o711 });
    chmodSync(join(dir, "ca"), 0o711);
    writeFileSync(
      join(dir, "ca", "workloads.json"),
      JSON.stringify({ [TOKENS.httpbin]: { namespace: "default", serviceAccount: "httpbin" }, [TOKENS.sleep]: { namespace: "default", serviceAccount: "sleep" } }),
      { mode: 0o600 },
    );

    logs.discovery = join(dir, "discovery.log");
    const dfd = openSync(logs.discovery, "a");
    net.spawn(
      net.hub.ns,
      [process.execPath, DISCOVERY_BIN, "--config-dir", join(dir, "mesh"), "--ca-dir", join(dir, "ca"), "--ca-addr", `${net.hub.ip}:15012`, "--grpc-addr", `${net.hub.ip}:15010`, "--http-addr", `${net.hub.ip}:18080`, "--monitoring-addr", `${net.hub.ip}:15014`, "--log-level", "warn"],
      { stdio: ["ignore", dfd, dfd] },
    );
    closeSync(dfd);
    net.spawn(pods.httpbin.ns, ["/usr/bin/python3", "-m", "httpbin.core", "--host", "0.0.0.0", "--port", "80"]);

    // What istio-init does in each pod, rendered once by weft-agent and loaded with iptables-restore.
    const rules = execFileSync(TSX, [AGENT_BIN, "iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT", "-i", "*", "-x", "", "-b", "*", "-d", "15090,15021,15020", "--dry-run"], { encoding: "utf8" });
    for (const pod of [pods.httpbin, pods.sleep]) execFileSync("ip", ["netns", "exec", pod.ns, "iptables-restore", "--noflush"], { input: rules, timeout: 20_000 });
    startSidecar("httpbin", pods.httpbin);
    startSidecar("sleep", pods.sleep);

    for (const [name, pod] of Object.entries(pods)) {
      try {
        await waitFor(() => /\n200$/.test(curl(pod, "http://127.0.0.1:15021/healthz/ready", 3)), `${name} sidecar ready`, 240_000);
      } catch (error) {
        throw new Error(`${(error as Error).message}\n--- ${name} sidecar ---\n${tail(name)}\n--- discovery ---\n${tail("discovery")}`);
      }
    }
    // Config converges: both Services answer through both sidecars in mTLS (XFCC present).
    for (const vip of [VIP, VIP_FRESH]) {
      try {
        await waitFor(() => /X-Forwarded-Client-Cert/i.test(curl(pods.sleep, `http://${vip}:8000/headers`)), `mTLS to ${vip}:8000 (X-Forwarded-Client-Cert in httpbin's /headers)`, 90_000);
      } catch (error) {
        const last = curl(pods.sleep, `http://${vip}:8000/headers`);
        throw new Error(`${(error as Error).message}; last answer:\n${last}\n--- sleep sidecar ---\n${tail("sleep")}\n--- httpbin sidecar ---\n${tail("httpbin")}`);
      }
    }
  }, 600_000);

  afterAll(async () => {
    await net?.close();
    if (dir && !process.env.WEFT_KEEP_TEST_DIR) rmSync(dir, { recursive: true, force: true });
  });

  it(`keeps every request succeeding for ${DURATION_MS / 60_000} min while 1-minute certificates rotate on both sidecars`, { timeout: DURATION_MS + 180_000 }, async () => {
    const before = { sleep: issued("sleep"), httpbin: issued("httpbin"), sleepPushes: sdsPushes(pods.sleep), httpbinPushes: sdsPushes(pods.httpbin) };
    const out = join(dir, "traffic.json");
    const loop: ChildProcess = net.spawn(pods.sleep.ns, [process.execPath, TRAFFIC_LOOP], {
      stdio: ["ignore", "pipe", "inherit"],
      env: { PATH: process.env.PATH ?? "", TARGETS: `http://${VIP}:8000/headers,http://${VIP_FRESH}:8000/headers`, DURATION_MS: String(DURATION_MS), INTERVAL_MS: "100", PROGRESS_MS: "15000", OUT: out },
    });
    loop.stdout!.setEncoding("utf8");
    loop.stdout!.on("data", (chunk: string) => {
      for (const line of chunk.split("\n").filter((l) => l.includes('"progress"'))) {
        const p = JSON.parse(line) as { elapsedS: number; requests: number; failed: number; clientCertHashes: number };
        console.info(`rotation under traffic: ${p.elapsedS}s, ${p.requests} requests, ${p.failed} failed, ${p.clientCertHashes} client certificates seen by httpbin; certificates issued: sleep ${issued("sleep")}, httpbin ${issued("httpbin")}`);
      }
    });
    const code = await new Promise<number | null>((r) => loop.once("exit", (c) => r(c)));
    expect(code).toBe(0);
    const s = JSON.parse(readFileSync(out, "utf8")) as {
      requests: number;
      failed: number;
      failures: unknown[];
      byLoop: Record<string, { requests: number; ok: number; connections: number }>;
      clientCertHashes: number;
      xfccBy: string[];
      xfccUri: string[];
      withoutXfcc: number;
    };
    const rotations = { sleep: issued("sleep") - before.sleep, httpbin: issued("httpbin") - before.httpbin };
    console.info(`rotation under traffic done: ${JSON.stringify({ requests: s.requests, failed: s.failed, byLoop: s.byLoop, clientCertHashes: s.clientCertHashes, rotations, sdsPushes: { sleep: sdsPushes(pods.sleep) - before.sleepPushes, httpbin: sdsPushes(pods.httpbin) - before.httpbinPushes } })}`);

    expect(s.failures).toEqual([]);
    expect(s.failed).toBe(0);
    expect(s.requests).toBeGreaterThan(DURATION_MS / 1000); // several per second, all loops together
    for (const [name, l] of Object.entries(s.byLoop)) {
      expect(l.ok, name).toBe(l.requests);
      // The app's keep-alive connection to its sidecar is never dropped by a rotation.
      if (name.endsWith("keepalive")) expect(l.connections, name).toBe(1);
    }
    // Every answer came over mTLS between the two identities.
    expect(s.withoutXfcc).toBe(0);
    expect(s.xfccBy).toEqual(["spiffe://cluster.local/ns/default/sa/httpbin"]);
    expect(s.xfccUri).toEqual(["spiffe://cluster.local/ns/default/sa/sleep"]);
    // Both sidecars renewed at about half-life (every ~30 s) and the proxies got each one over SDS…
    const expected = Math.floor(DURATION_MS / ((TTL_S * 1000) / 2)) - 1;
    expect(rotations.sleep).toBeGreaterThanOrEqual(expected);
    expect(rotations.httpbin).toBeGreaterThanOrEqual(expected);
    expect(sdsPushes(pods.sleep) - before.sleepPushes).toBeGreaterThanOrEqual(expected);
    expect(sdsPushes(pods.httpbin) - before.httpbinPushes).toBeGreaterThanOrEqual(expected);
    // …and new handshakes used them: httpbin saw the sleep sidecar present one client certificate per rotation.
    expect(s.clientCertHashes).toBeGreaterThanOrEqual(expected);
  });
});
