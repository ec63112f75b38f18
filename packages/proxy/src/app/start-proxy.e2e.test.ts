import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { createServer, type Server } from "node:http";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { Writable } from "node:stream";
import { fromEnvoyJson, readEnvoyText, TypeUrl } from "@weft/xds-api";
import { ConfigDumpSchema } from "@weft/xds-api/gen/envoy/admin/v3/config_dump_pb";
import { ClusterSchema } from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb";
import { ClusterLoadAssignmentSchema } from "@weft/xds-api/gen/envoy/config/endpoint/v3/endpoint_pb";
import { ListenerSchema } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_pb";
import { RouteConfigurationSchema } from "@weft/xds-api/gen/envoy/config/route/v3/route_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseCommandLine } from "../cli/parse-command-line.js";
import { createProxyRuntime, type WeftProxyRuntime } from "../runtime/create-proxy-runtime.js";
import { TestAdsServer } from "../test-util/test-ads-server.js";
import { startProxy, type RunningProxy } from "./start-proxy.js";
import { poller } from "../test-util/until.js";

const dir = mkdtempSync(join(tmpdir(), "weft-e2e-"));
const xdsSock = join(dir, "XDS");
const accessLog = join(dir, "access.log");
const hasCurl = spawnSync("curl", ["--version"]).status === 0;

const BOOTSTRAP = `
node: { id: "sidecar~127.0.0.1~e2e.default~default.svc.cluster.local", cluster: e2e.default }
admin: { address: { socket_address: { address: 127.0.0.1, port_value: 0 } } }
dynamic_resources:
  lds_config: { ads: {}, resource_api_version: V3 }
  cds_config: { ads: {}, resource_api_version: V3 }
  ads_config: { api_type: GRPC, transport_api_version: V3, grpc_services: [{ envoy_grpc: { cluster_name: xds-grpc } }] }
static_resources:
  clusters:
  - name: xds-grpc
    type: STATIC
    connect_timeout: 1s
    http2_protocol_options: {}
    load_assignment: { cluster_name: xds-grpc, endpoints: [{ lb_endpoints: [{ endpoint: { address: { pipe: { path: ${xdsSock} } } } }] }] }
`;

const JSON_LOG = {
  code: "%RESPONSE_CODE%",
  flags: "%RESPONSE_FLAGS%",
  details: "%RESPONSE_CODE_DETAILS%",
  cluster: "%UPSTREAM_CLUSTER%",
  upstream_host: "%UPSTREAM_HOST%",
  path: "%REQ(:PATH)%",
  request_id: "%REQ(X-REQUEST-ID)%",
  route: "%ROUTE_NAME%",
};

let upstream: Server;
let upstreamPort = 0;
let ads: TestAdsServer;
let proxy: RunningProxy;
let listenerPort = 0;
let adminPort = 0;

function pushConfig(version: string) {
  ads.set(
    TypeUrl.Cluster,
    version,
    ClusterSchema,
    ["app", "empty"].map((name) => fromEnvoyJson(ClusterSchema, { name, type: "EDS", connect_timeout: "1s", eds_cluster_config: { eds_config: { ads: {} } } })),
    (c) => c.name,
  );
  ads.set(
    TypeUrl.ClusterLoadAssignment,
    version,
    ClusterLoadAssignmentSchema,
    [
      fromEnvoyJson(ClusterLoadAssignmentSchema, {
        cluster_name: "app",
        endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: upstreamPort } } } }] }],
      }),
      fromEnvoyJson(ClusterLoadAssignmentSchema, { cluster_name: "empty" }),
    ],
    (e) => e.clusterName,
  );
  ads.set(
    TypeUrl.Listener,
    version,
    ListenerSchema,
    [
      fromEnvoyJson(ListenerSchema, {
        name: "http_in",
        address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
        filter_chains: [
          {
            filters: [
              {
                name: "envoy.filters.network.http_connection_manager",
                typed_config: {
                  "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                  stat_prefix: "http_in",
                  rds: { route_config_name: "r1", config_source: { ads: {} } },
                  access_log: [
                    {
                      name: "envoy.access_loggers.file",
                      typed_config: {
                        "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
                        path: accessLog,
                        log_format: { json_format: JSON_LOG },
                      },
                    },
                  ],
                  http_filters: [{ name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } }],
                },
              },
            ],
          },
        ],
      } as never),
    ],
    (l) => l.name,
  );
  ads.set(
    TypeUrl.RouteConfiguration,
    version,
    RouteConfigurationSchema,
    [
      fromEnvoyJson(RouteConfigurationSchema, {
        name: "r1",
        virtual_hosts: [
          {
            name: "all",
            domains: ["*"],
            include_request_attempt_count: true,
            routes: [
              { name: "app", match: { prefix: "/app" }, route: { cluster: "app" } },
              { name: "empty", match: { prefix: "/empty" }, route: { cluster: "empty" } },
            ],
          },
        ],
      }),
    ],
    (r) => r.name,
  );
}

const until = poller({ timeoutMs: 15_000, stepMs: 50 });

// Async: the proxy runs in this process, so a synchronous curl would block it.
const curl = async (url: string, ...args: string[]) =>
  (await promisify(execFile)("curl", ["-sS", "--max-time", "5", "-w", "\n%{http_code}", ...args, url], { encoding: "utf8" })).stdout;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ path: req.url, headers: req.headers }));
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  upstreamPort = (upstream.address() as AddressInfo).port;

  ads = new TestAdsServer();
  await ads.listen({ path: xdsSock });
  pushConfig("v1");

  const options = parseCommandLine(["--config-yaml", BOOTSTRAP, "--file-flush-interval-msec", "50", "-l", "warning"]);
  const sink = new Writable({ write: (_c, _e, cb) => cb() });
  proxy = await startProxy(options, { createRuntime: createProxyRuntime, logDestination: sink as never });
  adminPort = proxy.adminPort()!;
  await until(() => proxy.serverState.state() === "LIVE", "LIVE");
  await until(() => ((proxy.runtime as WeftProxyRuntime).boundPort("http_in") ?? 0) > 0, "the listener to bind");
  listenerPort = (proxy.runtime as WeftProxyRuntime).boundPort("http_in")!;
}, 40_000);

afterAll(async () => {
  await proxy?.stop();
  await ads?.stop();
  await new Promise((r) => upstream?.close(r));
});

describe.skipIf(!hasCurl)("weft-proxy end to end: static bootstrap + ADS over a Unix socket + curl", () => {
  it("reports LIVE on /ready", async () => {
    const res = await fetch(`http://127.0.0.1:${adminPort}/ready`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("LIVE\n");
  });

  it("proxies curl to the upstream with x-request-id and x-envoy-attempt-count", async () => {
    const out = await curl(`http://127.0.0.1:${listenerPort}/app/hello`);
    const [body, code] = [out.slice(0, out.lastIndexOf("\n")), out.slice(out.lastIndexOf("\n") + 1)];
    expect(code).toBe("200");
    const seen = JSON.parse(body) as { path: string; headers: Record<string, string> };
    expect(seen.path).toBe("/app/hello");
    expect(seen.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(seen.headers["x-envoy-attempt-count"]).toBe("1");
  });

  it("answers 503 UH for a cluster with no endpoints and 404 NR for no route, in the JSON access log", async () => {
    expect((await curl(`http://127.0.0.1:${listenerPort}/empty`)).endsWith("503")).toBe(true);
    expect((await curl(`http://127.0.0.1:${listenerPort}/nowhere`)).endsWith("404")).toBe(true);
    await until(() => existsSync(accessLog) && readFileSync(accessLog, "utf8").split("\n").filter(Boolean).length >= 3, "three access log lines");
    const lines = readFileSync(accessLog, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l["path"] === "/app/hello")).toMatchObject({ code: 200, flags: "-", cluster: "app", route: "app", upstream_host: `127.0.0.1:${upstreamPort}` });
    expect(lines.find((l) => l["path"] === "/empty")).toMatchObject({ code: 503, flags: "UH", cluster: "empty", upstream_host: null });
    expect(lines.find((l) => l["path"] === "/nowhere")).toMatchObject({ code: 404, flags: "NR", cluster: null });
  });

  it("serves a /config_dump that reads back, with the ADS versions", async () => {
    const text = await (await fetch(`http://127.0.0.1:${adminPort}/config_dump?include_eds`)).text();
    const dump = readEnvoyText(ConfigDumpSchema, text);
    expect(dump.configs.length).toBe(6);
    const json = JSON.parse(text) as { configs: Array<Record<string, unknown>> };
    const clusters = json.configs[1] as { dynamic_active_clusters: Array<{ version_info: string; cluster: { name: string } }> };
    expect(clusters.dynamic_active_clusters.map((c) => [c.cluster.name, c.version_info]).sort()).toEqual([
      ["app", "v1"],
      ["empty", "v1"],
    ]);
  });

  it("counts stats and serves them to Prometheus", async () => {
    const text = await (await fetch(`http://127.0.0.1:${adminPort}/stats/prometheus`)).text();
    expect(text).toContain("envoy_server_live{} 1");
    expect(text).toContain("envoy_control_plane_connected_state{} 1");
    const run = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    if (run.error) return; // promtool missing: covered (and announced) by the stats tests
    expect(run.status, run.stdout + run.stderr).not.toBe(1);
  });

  it("NACKs a listener on port 70000 naming resource and field, and the old listener keeps serving", async () => {
    const bad = fromEnvoyJson(ListenerSchema, {
      name: "http_in",
      address: { socket_address: { address: "127.0.0.1", port_value: 70000 } },
      filter_chains: [{ filters: [{ name: "tcp", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", stat_prefix: "t", cluster: "app" } }] }],
    } as never);
    ads.set(TypeUrl.Listener, "v2", ListenerSchema, [bad], (l) => l.name);
    await until(() => ads.requests.some((r) => r.typeUrl === TypeUrl.Listener && r.errorDetail), "the NACK");
    const nack = ads.requests.find((r) => r.typeUrl === TypeUrl.Listener && r.errorDetail)!;
    expect(nack.errorDetail?.code).toBe(3);
    expect(nack.errorDetail?.message).toBe("http_in: address.socket_address.port_value: value must be less than or equal to 65535, got 70000");
    expect(nack.versionInfo).toBe("v1");
    expect((await curl(`http://127.0.0.1:${listenerPort}/app/after-nack`)).endsWith("200")).toBe(true);
  });

  it("keeps serving while the xDS server is down", async () => {
    await ads.stop();
    await until(() => !proxy.ads()!.connected(), "the ADS client noticing");
    expect((await curl(`http://127.0.0.1:${listenerPort}/app/still`)).endsWith("200")).toBe(true);
  });
});
