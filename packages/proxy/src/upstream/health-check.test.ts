// Active health checking against real loopback servers: HTTP (path, host,
// expected_statuses, thresholds) and TCP (send/receive payloads) checks mark
// hosts down and up, the proxy stops and resumes routing to them, and
// checkers stop when the cluster goes away.
import * as net from "node:net";
import { pino } from "pino";
import { fromEnvoyJson } from "@weft/xds-api";
import { ClusterSchema } from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileCluster } from "../runtime/compile-cluster.js";
import { createFakeStats } from "../test-util/fake-stats.js";
import { httpListener, staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";
import { curl, sleep, startBackend, type Backend } from "../test-util/recording-backend.js";
import { createCluster } from "./cluster.js";
import { renderClustersText } from "../admin/cluster-status.js";
import { poller } from "../test-util/until.js";

const until = poller({ timeoutMs: 5000, stepMs: 20 });

const httpCheck = { timeout: "0.5s", interval: "0.1s", no_traffic_interval: "0.1s", unhealthy_threshold: 2, healthy_threshold: 2, http_health_check: { path: "/healthz", host: "hc.example" } };

describe("active HTTP health checks", () => {
  let h: Harness;
  let a: Backend;
  let b: Backend;
  let aHealth = 200;
  beforeAll(async () => {
    a = await startBackend((r) => (r.url === "/healthz" ? { status: aHealth } : { status: 200, body: "a" }));
    b = await startBackend((r) => (r.url === "/healthz" ? { status: 200 } : { status: 200, body: "b" }));
    h = await startRuntime({
      clusters: [staticCluster("hc", [a.port, b.port], { lb_policy: "ROUND_ROBIN", health_checks: [httpCheck] })],
      listeners: [httpListener("l", [{ name: "v", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "hc" } }] }])],
    });
  });
  afterAll(async () => {
    await h?.close();
    await a?.close();
    await b?.close();
  });
  const flags = (port: number): string => h.runtime.clusterStatus()[0].hosts.find((x) => x.address === `127.0.0.1:${port}`)!.healthFlags.join("");

  it("starts hosts as /failed_active_hc until their first check, which makes them healthy", async () => {
    await until(() => flags(a.port) === "" && flags(b.port) === "", "first checks");
    const probe = a.requests.find((r) => r.url === "/healthz")!;
    expect(probe.headers.host).toBe("hc.example");
    expect(probe.headers["user-agent"]).toBe("Envoy/HC");
    expect(h.stats.get("cluster.hc.health_check.healthy")).toBe(2);
  });

  it("a status outside expected_statuses marks the host down at once; it takes healthy_threshold passes to come back", async () => {
    aHealth = 503;
    await until(() => flags(a.port) === "/failed_active_hc", "a marked down");
    expect(renderClustersText(h.runtime)).toContain(`hc::127.0.0.1:${a.port}::health_flags::/failed_active_hc\n`);
    expect(h.stats.get("cluster.hc.health_check.failure")).toBeGreaterThanOrEqual(1);
    expect(h.stats.get("cluster.hc.health_check.healthy")).toBe(1);
    expect(h.stats.get("cluster.hc.membership_healthy")).toBe(1);
    for (let i = 0; i < 6; i++) expect((await curl(h.port("l"), `/x${i}`)).body).toBe("b");

    aHealth = 200;
    const passesBefore = a.requests.filter((r) => r.url === "/healthz").length;
    await until(() => flags(a.port) === "", "a back up");
    // Two passes (healthy_threshold 2), not one.
    expect(a.requests.filter((r) => r.url === "/healthz").length - passesBefore).toBeGreaterThanOrEqual(2);
    const bodies = [];
    for (let i = 0; i < 6; i++) bodies.push((await curl(h.port("l"), `/y${i}`)).body);
    expect(bodies).toContain("a");
  });

  it("timeouts count towards unhealthy_threshold (network failures)", async () => {
    a.handle((r) => (r.url === "/healthz" ? { status: 200, delayMs: 2000 } : { status: 200, body: "a" }));
    const t = await until(() => flags(a.port) === "/failed_active_hc", "a down after two timeouts");
    // Two timeouts of 0.5 s plus an interval between them.
    expect(t).toBeGreaterThanOrEqual(900);
    expect(h.stats.get("cluster.hc.health_check.network_failure")).toBeGreaterThanOrEqual(2);
  });
});

describe("active TCP health checks", () => {
  it("send/receive payloads: down when the server goes away, up when it returns; checks stop with the cluster", async () => {
    let probes = 0;
    const serve = (port = 0): Promise<net.Server> =>
      new Promise((resolve) => {
        const s = net.createServer((sock) => {
          probes++;
          sock.on("data", (d) => {
            if (d.toString().includes("PING")) sock.write("xxPONGyy");
          });
          sock.on("error", () => {});
        });
        s.listen(port, "127.0.0.1", () => resolve(s));
      });
    let server = await serve();
    const port = (server.address() as net.AddressInfo).port;
    const stats = createFakeStats();
    const json = {
      name: "tcp",
      type: "STATIC",
      connect_timeout: "1s",
      load_assignment: { cluster_name: "tcp", endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: port } } } }] }] },
      health_checks: [
        {
          timeout: "0.3s",
          interval: "0.1s",
          no_traffic_interval: "0.1s",
          unhealthy_threshold: 2,
          healthy_threshold: 2,
          tcp_health_check: { send: { text: Buffer.from("PING").toString("hex") }, receive: [{ text: Buffer.from("PONG").toString("hex") }] },
        },
      ],
    };
    const cluster = createCluster(compileCluster(fromEnvoyJson(ClusterSchema, json as never), () => {}), { stats, logger: pino({ level: "silent" }) });
    const host = () => cluster.hosts()[0];
    try {
      // Without ignore_new_hosts_until_first_hc a new host is failed but not pending (Envoy).
      expect(host().healthFlags).toEqual(["/failed_active_hc"]);
      await until(() => host().healthy, "first TCP check");
      await new Promise<void>((r) => server.close(() => r()));
      await until(() => !host().healthy, "down after the server closed");
      expect(host().healthFlags).toEqual(["/failed_active_hc"]);
      expect(stats.get("cluster.tcp.health_check.network_failure")).toBeGreaterThanOrEqual(2);
      server = await serve(port);
      await until(() => host().healthy, "up again");
      expect(stats.get("cluster.tcp.health_check.success")).toBeGreaterThanOrEqual(3);
    } finally {
      await cluster.close();
    }
    const after = probes;
    await sleep(400);
    expect(probes).toBe(after);
    await new Promise<void>((r) => server.close(() => r()));
  });

  it("a server that answers the wrong bytes fails the check (timeout)", async () => {
    const s = net.createServer((sock) => sock.on("data", () => sock.write("NOPE")));
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    const port = (s.address() as net.AddressInfo).port;
    const cluster = createCluster(
      compileCluster(
        fromEnvoyJson(ClusterSchema, {
          name: "tcp2",
          type: "STATIC",
          load_assignment: { cluster_name: "tcp2", endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: port } } } }] }] },
          health_checks: [{ timeout: "0.2s", interval: "0.1s", no_traffic_interval: "0.1s", unhealthy_threshold: 1, healthy_threshold: 1, tcp_health_check: { send: { text: "50494e47" }, receive: [{ text: "504f4e47" }] } }],
        } as never),
        () => {},
      ),
      { stats: createFakeStats(), logger: pino({ level: "silent" }) },
    );
    try {
      await sleep(600);
      expect(cluster.hosts()[0].healthFlags).toEqual(["/failed_active_hc"]);
    } finally {
      await cluster.close();
      s.close();
    }
  });

  it("ignore_new_hosts_until_first_hc: a new host is /pending_active_hc and outside load balancing until checked", async () => {
    const s = net.createServer((sock) => sock.end());
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    const port = (s.address() as net.AddressInfo).port;
    const stats = createFakeStats();
    const cluster = createCluster(
      compileCluster(
        fromEnvoyJson(ClusterSchema, {
          name: "warm",
          type: "STATIC",
          common_lb_config: { ignore_new_hosts_until_first_hc: true },
          load_assignment: { cluster_name: "warm", endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: port } } } }] }] },
          health_checks: [{ timeout: "0.5s", interval: "0.1s", initial_jitter: "0.3s", no_traffic_interval: "0.1s", unhealthy_threshold: 1, healthy_threshold: 1, tcp_health_check: {} }],
        } as never),
        () => {},
      ),
      { stats, logger: pino({ level: "silent" }), random: () => 0.99 },
    );
    try {
      expect(cluster.hosts()[0].healthFlags).toEqual(["/failed_active_hc", "/pending_active_hc"]);
      // Not even panic routing reaches it: it is excluded, not just unhealthy.
      expect(cluster.pickHost(undefined, undefined)).toBeUndefined();
      await until(() => cluster.hosts()[0].healthy, "first check");
      expect(cluster.pickHost(undefined, undefined)?.port).toBe(port);
    } finally {
      await cluster.close();
      s.close();
    }
  });

  it("rejects a health check without its required fields, naming the field", () => {
    const bad = { name: "x", type: "STATIC", health_checks: [{ interval: "1s", unhealthy_threshold: 1, healthy_threshold: 1, tcp_health_check: {} }] };
    expect(() => compileCluster(fromEnvoyJson(ClusterSchema, bad as never), () => {})).toThrow(/x: health_checks\[0\]\.timeout: is required/);
  });
});
