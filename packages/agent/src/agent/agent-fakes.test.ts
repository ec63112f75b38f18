import { connect, type Socket } from "node:net";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TypeUrl } from "@weft/xds-api";
import { ClusterSchema } from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb";
import { ListenerSchema } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_pb";
import { FakeDiscovery } from "../test-util/fake-discovery.js";
import { freePort } from "../test-util/httpbin.js";
import { agentEnv, exited, FAKE_PROXY, httpStatus, preparePod, proxyEvents, spawnAgent, waitFor } from "../test-util/agent-harness.js";

/**
 * The whole `weft-agent proxy sidecar` process, supervising the fake proxy
 * (src/test-util/fake-proxy.mjs) against an in-process fake discovery: the same
 * behaviours agent-real.test.ts checks with weft-discovery and weft-proxy.
 */
describe("weft-agent proxy sidecar (fake proxy, fake discovery)", { timeout: 90_000 }, () => {
  let pod: Awaited<ReturnType<typeof preparePod>>;
  let discovery: FakeDiscovery;
  let agent: ReturnType<typeof spawnAgent>;
  const conns: Socket[] = [];

  beforeAll(async () => {
    pod = await preparePod("fakes");
    discovery = new FakeDiscovery();
    discovery.port = await freePort();
    discovery.set(TypeUrl.Cluster, "v1", ClusterSchema, [create(ClusterSchema, { name: "outbound|8000||httpbin.default.svc.cluster.local" })]);
    discovery.set(TypeUrl.Listener, "v1", ListenerSchema, [create(ListenerSchema, { name: "virtualOutbound" })]);
    // A container limited to 1 CPU, as the injector's downward API reports it and its cgroup (v2) enforces it.
    const cgroup = join(pod.dir, "cgroup");
    mkdirSync(cgroup);
    writeFileSync(join(cgroup, "cpu.max"), "100000 100000\n");
    agent = spawnAgent(["proxy", "sidecar", "--proxy-binary", FAKE_PROXY], agentEnv(pod, discovery.address, { ISTIO_CPU_LIMIT: "1", WEFT_CGROUP_DIR: cgroup }));
  });

  afterAll(async () => {
    for (const c of conns) c.destroy();
    if (agent.exitCode === null) agent.kill("SIGKILL");
    await discovery.stop();
  });

  const health = () => httpStatus(`http://127.0.0.1:${pod.ports.health}/healthz/ready`);

  it("answers 503 on the proxy's 15021 before the first config", async () => {
    await waitFor(async () => (await health()) !== 0, "the proxy's health listener", 60_000);
    expect(await health()).toBe(503);
  });

  it("becomes ready once the proxy got its config through the agent's socket", async () => {
    await discovery.start(discovery.port);
    await waitFor(async () => (await health()) === 200, "readiness after first config");
    const responses = proxyEvents(pod.log).filter((e) => e.event === "response");
    expect(responses.map((e) => e.typeUrl)).toEqual(expect.arrayContaining([TypeUrl.Cluster, TypeUrl.Listener]));
    expect(discovery.sotwRequests[0].node?.id).toBe("sidecar~127.0.0.1~httpbin-798dbb9f74-l7ntg.default~default.svc.cluster.local");
  });

  it("starts the proxy with one worker per CPU of the container's limit, and says so in PROXY_CONFIG", () => {
    const args = proxyEvents(pod.log).find((e) => e.event === "start")!.args as string[];
    expect(args[args.indexOf("--concurrency") + 1]).toBe("1");
    const bootstrap = JSON.parse(readFileSync(join(pod.dir, "envoy-rev.json"), "utf8"));
    expect(bootstrap.node.metadata.PROXY_CONFIG.concurrency).toBe(1);
  });

  it("`weft-agent wait` returns once ready", async () => {
    const w = spawnAgent(["wait", "--timeout", "10s", "--url", `http://127.0.0.1:${pod.ports.health}/healthz/ready`], { PATH: process.env.PATH ?? "" });
    expect(await exited(w)).toBe(0);
    expect(w.output()).toMatch(/ready/);
  });

  it("keeps the proxy's stream and traffic while discovery is away, and resyncs after", async () => {
    await discovery.stop();
    const c = connect(pod.ports.traffic, "127.0.0.1");
    conns.push(c);
    const echoed = await new Promise<string>((resolve) => {
      c.once("data", (d) => resolve(d.toString()));
      c.write("ping");
    });
    expect(echoed).toBe("ping");
    expect(await health()).toBe(200);
    discovery.set(TypeUrl.Cluster, "v2", ClusterSchema, [create(ClusterSchema, { name: "outbound|8000||httpbin.default.svc.cluster.local" })]);
    await discovery.start(discovery.port);
    await waitFor(() => proxyEvents(pod.log).some((e) => e.event === "response" && e.version === "v2"), "CDS v2 after reconnect");
    expect(proxyEvents(pod.log).filter((e) => e.event === "stream-error")).toEqual([]);
  });

  it("restarts the proxy when it dies", async () => {
    const first = proxyEvents(pod.log).find((e) => e.event === "start")!.pid;
    process.kill(first, "SIGKILL");
    await waitFor(() => proxyEvents(pod.log).some((e) => e.event === "start" && e.pid !== first), "a new proxy process");
    await waitFor(async () => (await health()) === 200, "readiness after restart");
    const metrics = await (await fetch(`http://127.0.0.1:${pod.ports.status}/stats/prometheus`)).text();
    expect(metrics).toMatch(/istio_agent_proxy_restarts_total 1/);
    expect(metrics).toMatch(/envoy_server_live 1/);
  });

  it("on SIGTERM turns not-ready, drains inbound listeners and exits within terminationDrainDuration", async () => {
    const t0 = Date.now();
    agent.kill("SIGTERM");
    await waitFor(async () => (await httpStatus(`http://127.0.0.1:${pod.ports.status}/healthz/ready`)) === 503, "not ready while draining", 1500);
    const code = await exited(agent);
    const elapsed = Date.now() - t0;
    expect(code).toBe(0);
    expect(elapsed).toBeGreaterThanOrEqual(1500);
    expect(elapsed).toBeLessThan(2000 + 3000);
    const drains = proxyEvents(pod.log).filter((e) => e.event === "drain");
    expect(drains.map((d) => d.query)).toEqual(["?inboundonly&graceful"]);
    expect(proxyEvents(pod.log).at(-1)?.event).toBe("quit"); // the drained proxy is told to exit via admin

  });
});

describe("weft-agent proxy sidecar: EXIT_ON_ZERO_ACTIVE_CONNECTIONS and /quitquitquit", { timeout: 90_000 }, () => {
  it("waits for the last connection instead of the drain duration", async () => {
    const pod = await preparePod("zero");
    const discovery = new FakeDiscovery();
    discovery.set(TypeUrl.Cluster, "v1", ClusterSchema, [create(ClusterSchema, { name: "c" })]);
    discovery.set(TypeUrl.Listener, "v1", ListenerSchema, [create(ListenerSchema, { name: "l" })]);
    await discovery.start();
    const agent = spawnAgent(["proxy", "sidecar", "--proxy-binary", FAKE_PROXY], agentEnv(pod, discovery.address, { EXIT_ON_ZERO_ACTIVE_CONNECTIONS: "true" }));
    try {
      await waitFor(async () => (await httpStatus(`http://127.0.0.1:${pod.ports.health}/healthz/ready`)) === 200, "ready", 60_000);
      const c = connect(pod.ports.traffic, "127.0.0.1");
      await new Promise((r) => c.once("connect", r));
      agent.kill("SIGTERM");
      await new Promise((r) => setTimeout(r, 3000)); // longer than terminationDrainDuration (2s)
      expect(agent.exitCode).toBeNull();
      const t0 = Date.now();
      c.destroy();
      expect(await exited(agent)).toBe(0);
      expect(Date.now() - t0).toBeLessThan(3000);
    } finally {
      if (agent.exitCode === null) agent.kill("SIGKILL");
      await discovery.stop();
    }
  });

  it("ends the sidecar on POST /quitquitquit", async () => {
    const pod = await preparePod("quit");
    const discovery = new FakeDiscovery();
    await discovery.start();
    const agent = spawnAgent(["proxy", "sidecar", "--proxy-binary", FAKE_PROXY], agentEnv(pod, discovery.address));
    try {
      await waitFor(async () => (await httpStatus(`http://127.0.0.1:${pod.ports.status}/healthz/ready`)) === 503, "status server", 60_000);
      await waitFor(() => proxyEvents(pod.log).some((e) => e.event === "start"), "proxy started");
      // "start" is logged before the proxy's admin listens: asked earlier, the agent can only signal it.
      await waitFor(async () => (await httpStatus(`http://127.0.0.1:${pod.ports.admin}/ready`)) !== 0, "the proxy's admin API", 60_000);
      const r = await fetch(`http://127.0.0.1:${pod.ports.status}/quitquitquit`, { method: "POST" });
      expect(r.status).toBe(200);
      expect(await exited(agent)).toBe(0);
      expect(proxyEvents(pod.log).some((e) => e.event === "quit")).toBe(true);
    } finally {
      if (agent.exitCode === null) agent.kill("SIGKILL");
      await discovery.stop();
    }
  });
});
