// weft-agent with the mesh CA of the real weft-discovery binary (--ca-dir): the sidecar's
// certificate comes from the CA through the agent's SDS, its xDS over TLS on the CA port
// with the workload's token, readiness waits for the first certificate and says why, and
// an agent that asks for another identity gets the one its token stands for.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentEnv, DISCOVERY_BIN, exited, FAKE_PROXY, httpStatus, preparePod, PROXY_BIN, spawnAgent, stopAgent, waitFor } from "../test-util/agent-harness.js";
import { freePort } from "../test-util/httpbin.js";
import { fetchSecrets, leafOf, trustedCaOf, uriSans } from "../test-util/sds-client.js";

const missing = [DISCOVERY_BIN, PROXY_BIN].filter((p) => !existsSync(p));
const skipReason = missing.length ? `agent-ca.test.ts skipped: ${missing.join(" and ")} not built (npx nx run discovery:build / proxy:build)` : undefined;
if (skipReason) console.warn(skipReason);

const TOKENS = { httpbin: "httpbin-token-0123456789abcdefghijklmnopqrstuvwxyz", sleep: "sleep-token-0123456789abcdefghijklmnopqrstuvwxyz" };

const mesh = `apiVersion: v1
kind: Service
metadata: {name: httpbin, namespace: default}
spec:
  selector: {app: httpbin}
  ports: [{name: http, port: 8000, targetPort: 18080, protocol: TCP}]
---
apiVersion: v1
kind: Pod
metadata: {name: httpbin-0, namespace: default, labels: {app: httpbin, security.istio.io/tlsMode: istio}}
spec: {serviceAccountName: httpbin, containers: [{name: httpbin, image: httpbin}]}
status: {phase: Running, podIP: 127.0.0.1, conditions: [{type: Ready, status: "True"}]}
`;

describe.skipIf(skipReason !== undefined)("weft-agent with weft-discovery's CA", () => {
  let root: Awaited<ReturnType<typeof preparePod>>;
  let caDir: string;
  let caPort: number;
  let discovery: ChildProcess | undefined;
  let discoveryLog = "";
  const agents: ChildProcess[] = [];

  const caEnv = (token: keyof typeof TOKENS | "unknown") => {
    const file = join(root.dir, `${token}-token`);
    writeFileSync(file, token === "unknown" ? "u".repeat(48) : TOKENS[token]);
    return { CA_ADDR: `127.0.0.1:${caPort}`, WEFT_CA_TOKEN_FILE: file, WEFT_CA_ROOT_CERT: join(caDir, "root-cert.pem") };
  };

  const startDiscovery = () => {
    discovery = spawn(
      process.execPath,
      [DISCOVERY_BIN, "--config-dir", join(root.dir, "mesh"), "--ca-dir", caDir, "--ca-addr", `127.0.0.1:${caPort}`, "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--monitoring-addr", "127.0.0.1:0"],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    discovery.stderr!.on("data", (b: Buffer) => (discoveryLog += b.toString()));
  };

  beforeAll(async () => {
    root = await preparePod("ca-mesh");
    caDir = join(root.dir, "ca");
    mkdirSync(caDir);
    mkdirSync(join(root.dir, "mesh"));
    writeFileSync(join(root.dir, "mesh", "httpbin.yaml"), mesh);
    writeFileSync(
      join(caDir, "workloads.json"),
      JSON.stringify({ [TOKENS.httpbin]: { namespace: "default", serviceAccount: "httpbin" }, [TOKENS.sleep]: { namespace: "default", serviceAccount: "sleep" } }),
      { mode: 0o600 },
    );
    caPort = await freePort();
  });

  afterAll(async () => {
    await Promise.all(agents.map((a) => stopAgent(a)));
    if (discovery && discovery.exitCode === null) {
      discovery.kill("SIGTERM");
      await exited(discovery);
    }
  });

  it("is not ready before the CA answers and says why; then gets its certificate, its config over TLS, and is ready", { timeout: 240_000 }, async () => {
    const pod = await preparePod("ca-httpbin");
    // The default harness env: SERVICE_ACCOUNT httpbin; no plaintext discovery address is given, only the CA port.
    const env = agentEnv(pod, `127.0.0.1:${caPort}`, { ...caEnv("httpbin"), OUTPUT_CERTS: join(pod.dir, "out") });
    const agent = spawnAgent(["proxy", "sidecar", "--proxy-binary", PROXY_BIN], env);
    agents.push(agent);
    const ready = () => fetch(`http://127.0.0.1:${pod.ports.status}/healthz/ready`, { signal: AbortSignal.timeout(1500) }).then(async (r) => ({ status: r.status, body: await r.text() }), () => ({ status: 0, body: "" }));
    await waitFor(async () => (await ready()).status !== 0, "the agent's status port", 60_000);
    const before = await ready();
    expect(before.status).toBe(503);
    expect(before.body).toMatch(new RegExp(`no workload certificate yet from the CA at 127\\.0\\.0\\.1:${caPort}`));
    expect(agent.output()).toContain(`mesh root certificate ${join(caDir, "root-cert.pem")} does not exist yet`);

    startDiscovery();
    try {
      await waitFor(async () => (await ready()).status === 200, "readiness once the CA issued and config arrived", 120_000);
    } catch (error) {
      throw new Error(`${(error as Error).message}: ${(await ready()).body}\n--- agent ---\n${agent.output().slice(-4000)}\n--- discovery ---\n${discoveryLog.slice(-3000)}`);
    }
    // The proxy's own readiness path (15021 through the proxy's listener) agrees.
    expect(await httpStatus(`http://127.0.0.1:${pod.ports.health}/healthz/ready`)).toBe(200);
    const clusters = await (await fetch(`http://127.0.0.1:${pod.ports.admin}/clusters`)).text();
    expect(clusters).toMatch(/outbound\|8000\|\|httpbin\.default\.svc\.cluster\.local/);

    const [workload, rootCa] = await fetchSecrets(join(pod.dir, "SDS"), ["default", "ROOTCA"]);
    const leaf = leafOf(workload!);
    expect(uriSans(leaf)).toEqual(["spiffe://cluster.local/ns/default/sa/httpbin"]);
    expect(leaf.notAfter.getTime() - leaf.notBefore.getTime()).toBeGreaterThan(23 * 3600_000); // SECRET_TTL default 24h
    expect(trustedCaOf(rootCa!).trim()).toBe(readFileSync(join(caDir, "root-cert.pem"), "utf8").trim());
    // OUTPUT_CERTS gets the same material.
    expect(readFileSync(join(pod.dir, "out", "cert-chain.pem"), "utf8")).toContain(leaf.toString("pem").split("\n")[1]);
    expect(readFileSync(join(pod.dir, "out", "key.pem"), "utf8")).toMatch(/BEGIN PRIVATE KEY/);
  });

  it("gets the identity its token stands for when it asks for another one", { timeout: 120_000 }, async () => {
    const pod = await preparePod("ca-impostor");
    // Claims service account "admin" (its CSR carries spiffe://…/sa/admin), holds sleep's token.
    const agent = spawnAgent(["proxy", "sidecar", "--proxy-binary", FAKE_PROXY], agentEnv(pod, `127.0.0.1:${caPort}`, { ...caEnv("sleep"), SERVICE_ACCOUNT: "admin", POD_NAME: "admin-0" }));
    agents.push(agent);
    await waitFor(() => existsSync(join(pod.dir, "SDS")), "the agent's SDS socket", 60_000);
    const [workload] = await fetchSecrets(join(pod.dir, "SDS"), ["default"], 30_000);
    expect(uriSans(leafOf(workload!))).toEqual(["spiffe://cluster.local/ns/default/sa/sleep"]);
  });

  it("stays not ready, retrying, with a token the CA does not know", { timeout: 120_000 }, async () => {
    const pod = await preparePod("ca-unknown");
    const agent = spawnAgent(["proxy", "sidecar", "--proxy-binary", FAKE_PROXY], agentEnv(pod, `127.0.0.1:${caPort}`, caEnv("unknown")));
    agents.push(agent);
    await waitFor(() => /getting a workload certificate from the CA failed; retrying/.test(agent.output()), "a failed attempt", 60_000);
    // Still there and still saying why a few retries later (0.5 s, 1 s, 2 s backoff).
    await new Promise((r) => setTimeout(r, 4000));
    const r = await fetch(`http://127.0.0.1:${pod.ports.status}/healthz/ready`);
    expect(r.status).toBe(503);
    expect(await r.text()).toMatch(/no workload certificate yet from the CA at .*authentication failed/);
    expect(agent.exitCode).toBeNull();
  });
});
