import { spawnSync } from "node:child_process";
import { create } from "@bufbuild/protobuf";
import { packAny, readEnvoyText, TypeUrl } from "@weft/xds-api";
import { ConfigDumpSchema } from "@weft/xds-api/gen/envoy/admin/v3/config_dump_pb";
import { ServerInfoSchema } from "@weft/xds-api/gen/envoy/admin/v3/server_info_pb";
import { ClusterSchema } from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb";
import { ClusterLoadAssignmentSchema } from "@weft/xds-api/gen/envoy/config/endpoint/v3/endpoint_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLoggingControl } from "../app/logging-control.js";
import { createServerState } from "../app/server-state.js";
import { parseCommandLine } from "../cli/parse-command-line.js";
import { installServerStats } from "../stats/server-stats.js";
import { createStatsStore } from "../stats/stats-store.js";
import { createTagProducer } from "../stats/tag-extractor.js";
import { FakeRuntime } from "../test-util/fake-runtime.js";
import { loadRev0Bootstrap } from "../test-util/testdata.js";
import { startAdminServer, type AdminServer } from "./admin-server.js";

const bootstrap = loadRev0Bootstrap();
const runtime = new FakeRuntime();
const serverState = createServerState();
const stats = createStatsStore({ tagProducer: createTagProducer(bootstrap.statsConfig) });
const logging = createLoggingControl({ level: "off" });
let quits = 0;
let admin: AdminServer;
let base: string;

beforeAll(async () => {
  await runtime.applyBootstrap(bootstrap);
  await runtime.apply({
    typeUrl: TypeUrl.Cluster,
    version: "2024-01-01T00:00:00Z/7",
    resources: [{ name: "outbound|80||x.ns.svc.cluster.local", version: "v7", resource: packAny(ClusterSchema, create(ClusterSchema, { name: "outbound|80||x.ns.svc.cluster.local" })) }],
    removed: [],
    stateOfTheWorld: true,
  });
  await runtime.apply({
    typeUrl: TypeUrl.ClusterLoadAssignment,
    version: "v7",
    resources: [{ name: "outbound|80||x.ns.svc.cluster.local", version: "v7", resource: packAny(ClusterLoadAssignmentSchema, create(ClusterLoadAssignmentSchema, { clusterName: "outbound|80||x.ns.svc.cluster.local" })) }],
    removed: [],
    stateOfTheWorld: false,
  });
  runtime.hosts = [
    {
      name: "outbound|80||x.ns.svc.cluster.local",
      circuitBreakers: { "default_priority::max_connections": 1024 },
      hosts: [
        { address: "10.0.0.1:80", healthy: true, healthFlags: [], weight: 1, locality: { zone: "z1" }, stats: { cx_active: 2, rq_total: 10 } },
        { address: "10.0.0.2:80", healthy: false, healthFlags: ["/failed_outlier_check"], weight: 3, stats: { cx_active: 0, rq_total: 1 } },
      ],
    },
  ];
  installServerStats(stats, { state: () => serverState.state(), startedAt: Date.now(), concurrency: 2, restartEpoch: 0, versionNumber: 1, activeConnections: () => 0 });
  stats.counter("cluster.outbound|80||x.ns.svc.cluster.local.upstream_rq_total").inc(5);
  stats.histogram("cluster.outbound|80||x.ns.svc.cluster.local.upstream_rq_time").record(12);
  admin = await startAdminServer(
    {
      runtime,
      stats,
      bootstrap,
      bootstrapLoadedAt: new Date(),
      serverState,
      logging,
      options: parseCommandLine(["-c", "envoy-rev0.json", "--concurrency", "2"]),
      startedAt: Date.now(),
      version: "weft/0.1.0",
      logger: logging.root,
      onQuit: () => quits++,
    },
    { host: "127.0.0.1", port: 0 },
  );
  base = `http://127.0.0.1:${admin.port()}`;
});
afterAll(async () => admin?.close());

const get = async (path: string, method = "GET") => {
  const res = await fetch(base + path, { method });
  return { status: res.status, body: await res.text(), type: res.headers.get("content-type") };
};

describe("admin /config_dump", () => {
  it("reads back through @weft/xds-api as an envoy.admin.v3.ConfigDump", async () => {
    const { status, body } = await get("/config_dump");
    expect(status).toBe(200);
    const dump = readEnvoyText(ConfigDumpSchema, body);
    expect(dump.configs.map((c) => c.typeUrl.split(".").pop())).toEqual([
      "BootstrapConfigDump",
      "ClustersConfigDump",
      "ListenersConfigDump",
      "RoutesConfigDump",
      "SecretsConfigDump",
    ]);
    const json = JSON.parse(body);
    const clusters = json.configs[1];
    expect(clusters.static_clusters.map((c: { cluster: { name: string } }) => c.cluster.name)).toContain("xds-grpc");
    expect(clusters.dynamic_active_clusters[0]).toMatchObject({ version_info: "v7", cluster: { "@type": TypeUrl.Cluster, name: "outbound|80||x.ns.svc.cluster.local" } });
    expect(clusters.version_info).toBe("v7");
    expect(json.configs[0].bootstrap.node.id).toBe(bootstrap.node?.id);
    expect(json.configs[2].static_listeners).toHaveLength(2);
  });

  it("adds endpoints only with ?include_eds", async () => {
    const dump = readEnvoyText(ConfigDumpSchema, (await get("/config_dump?include_eds")).body);
    expect(dump.configs.map((c) => c.typeUrl.split(".").pop())).toContain("EndpointsConfigDump");
  });

  it("selects one resource list with ?resource= and masks fields with ?mask=", async () => {
    const r = await get("/config_dump?resource=dynamic_active_clusters&mask=cluster.name");
    const json = JSON.parse(r.body);
    expect(json.configs).toEqual([{ "@type": "type.googleapis.com/envoy.admin.v3.ClustersConfigDump.DynamicCluster", cluster: { name: "outbound|80||x.ns.svc.cluster.local" } }]);
    expect((await get("/config_dump?resource=nope")).status).toBe(404);
  });
});

describe("admin /ready and /healthcheck", () => {
  it("follows the server state and health-check overrides", async () => {
    expect(await get("/ready")).toMatchObject({ status: 503, body: "PRE_INITIALIZING\n" });
    serverState.setLive();
    expect(await get("/ready")).toMatchObject({ status: 200, body: "LIVE\n" });
    expect((await get("/healthcheck/fail")).status).toBe(405);
    expect((await get("/healthcheck/fail", "POST")).status).toBe(200);
    expect(await get("/ready")).toMatchObject({ status: 503, body: "DRAINING\n" });
    await get("/healthcheck/ok", "POST");
    expect(await get("/ready")).toMatchObject({ status: 200, body: "LIVE\n" });
  });
});

describe("admin /clusters and /listeners", () => {
  it("prints Envoy's cluster::host::stat::value lines with health flags", async () => {
    const { body } = await get("/clusters");
    expect(body).toContain("outbound|80||x.ns.svc.cluster.local::default_priority::max_connections::1024\n");
    expect(body).toContain("outbound|80||x.ns.svc.cluster.local::10.0.0.1:80::cx_active::2\n");
    expect(body).toContain("outbound|80||x.ns.svc.cluster.local::10.0.0.1:80::health_flags::healthy\n");
    expect(body).toContain("outbound|80||x.ns.svc.cluster.local::10.0.0.2:80::health_flags::/failed_outlier_check\n");
    expect(body).toContain("outbound|80||x.ns.svc.cluster.local::10.0.0.2:80::weight::3\n");
    expect(body).toContain("outbound|80||x.ns.svc.cluster.local::10.0.0.1:80::zone::z1\n");
  });

  it("prints ?format=json as envoy.admin.v3.Clusters", async () => {
    const json = JSON.parse((await get("/clusters?format=json")).body);
    const host = json.cluster_statuses[0].host_statuses[1];
    expect(host.address.socket_address).toEqual({ address: "10.0.0.2", port_value: 80 });
    expect(host.health_status).toMatchObject({ failed_outlier_check: true, eds_health_status: "UNHEALTHY" });
    expect(json.cluster_statuses[0].added_via_api).toBe(true);
  });

  it("lists listeners as text and JSON", async () => {
    expect((await get("/listeners")).body.split("\n")[0]).toMatch(/^.+::0\.0\.0\.0:15001$/);
    const json = JSON.parse((await get("/listeners?format=json")).body);
    expect(json.listener_statuses[0].local_address.socket_address.port_value).toBe(15001);
  });
});

describe("admin /stats", () => {
  it("prints text, filters, and JSON", async () => {
    const t = (await get("/stats")).body;
    expect(t).toContain("cluster.outbound|80||x.ns.svc.cluster.local.upstream_rq_total: 5\n");
    expect(t).toContain("server.live: 1\n");
    expect((await get("/stats?filter=^server\\.live$")).body).toBe("server.live: 1\n");
    const j = JSON.parse((await get("/stats?format=json")).body);
    expect(j.stats).toContainEqual({ name: "server.concurrency", value: 2 });
    expect(j.stats.at(-1).histograms.computed_quantiles[0].name).toBe("cluster.outbound|80||x.ns.svc.cluster.local.upstream_rq_time");
  });

  it("serves /stats/prometheus that promtool parses", async () => {
    const { body, type } = await get("/stats/prometheus");
    expect(type).toMatch(/^text\/plain/);
    expect(body).toContain('envoy_cluster_upstream_rq_total{cluster_name="outbound|80||x.ns.svc.cluster.local"} 5\n');
    if (spawnSync("promtool", ["--version"]).status !== 0) {
      console.warn("promtool not found: skipping `promtool check metrics`");
      return;
    }
    const run = spawnSync("promtool", ["check", "metrics"], { input: body, encoding: "utf8" });
    expect(run.status, run.stdout + run.stderr).not.toBe(1);
    expect((run.stdout + run.stderr).split("\n").filter((l) => l.trim() && !l.includes('"_total" suffix'))).toEqual([]);
  });
});

describe("admin /server_info, /logging, /memory, mutating endpoints", () => {
  it("prints ServerInfo that reads back", async () => {
    const info = readEnvoyText(ServerInfoSchema, (await get("/server_info")).body);
    expect(info.commandLineOptions?.concurrency).toBe(2);
    expect(info.node?.id).toBe(bootstrap.node?.id);
    expect(info.version).toBe("weft/0.1.0");
  });

  it("lists and changes log levels", async () => {
    expect((await get("/logging")).body).toContain("  upstream: off\n");
    expect((await get("/logging?upstream=debug")).status).toBe(405);
    expect((await get("/logging?upstream=debug", "POST")).body).toContain("  upstream: debug\n");
    expect((await get("/logging?level=warning", "POST")).body).toContain("  upstream: warning\n");
    expect((await get("/logging?nope=debug", "POST")).status).toBe(404);
    expect((await get("/logging?level=loud", "POST")).status).toBe(404);
  });

  it("drains listeners and quits on POST only", async () => {
    expect((await get("/drain_listeners?inboundonly&graceful", "POST")).status).toBe(200);
    expect(runtime.drained.at(-1)).toEqual({ inboundOnly: true, graceful: true });
    expect((await get("/quitquitquit")).status).toBe(405);
    expect((await get("/quitquitquit", "POST")).body).toBe("OK\n");
    await new Promise((r) => setTimeout(r, 20));
    expect(quits).toBe(1);
  });

  it("answers /memory, /certs, /runtime and unknown paths", async () => {
    expect(JSON.parse((await get("/memory")).body).allocated).toMatch(/^\d+$/);
    expect(JSON.parse((await get("/certs")).body)).toEqual({ certificates: [] });
    const rt = JSON.parse((await get("/runtime")).body);
    expect(rt.layers).toEqual(["deprecation", "global config", "admin"]);
    expect(rt.entries["overload.global_downstream_max_connections"].final_value).toBe("2147483647");
    expect((await get("/nope")).status).toBe(404);
  });
});
