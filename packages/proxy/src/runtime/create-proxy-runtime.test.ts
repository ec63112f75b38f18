// The runtime driven like the ADS client drives it: CDS → EDS → LDS → RDS
// batches, NACK on bad input with the old config kept, warming, and the
// router's timeouts and retries against real loopback servers.
import * as http from "node:http";
import * as net from "node:net";
import * as tls from "node:tls";
import { pino } from "pino";
import { BootstrapSchema } from "@weft/xds-api/gen/envoy/config/bootstrap/v3/bootstrap_pb.js";
import { createProxyRuntime } from "./create-proxy-runtime.js";
import { createFakeStats } from "../test-util/fake-stats.js";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { fromEnvoyJson, TypeUrl } from "@weft/xds-api";
import { ClusterSchema } from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb.js";
import { ClusterLoadAssignmentSchema } from "@weft/xds-api/gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { ListenerSchema } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "@weft/xds-api/gen/envoy/config/route/v3/route_pb.js";
import type { DescMessage } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ResourceRejectedError } from "../contracts.js";
import { ACCESS_LOG, staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";

const run = promisify(execFile);

function batch(typeUrl: string, schema: DescMessage, items: Array<Record<string, unknown>>, version = "1") {
  return {
    typeUrl,
    version,
    stateOfTheWorld: typeUrl === TypeUrl.Cluster || typeUrl === TypeUrl.Listener,
    removed: [],
    resources: items.map((j) => {
      const name = String(j.name ?? j.cluster_name);
      return { name, version, resource: anyPack(schema, fromEnvoyJson(schema, j as never) as never) };
    }),
  };
}

async function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path, headers, agent: false }, (res) => {
        let body = "";
        res.on("data", (d) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode!, body, headers: res.headers }));
      })
      .on("error", reject);
  });
}

describe("createProxyRuntime() with xDS batches", () => {
  let h: Harness;
  let backend: http.Server;
  let backendPort: number;
  let flaky = 0;
  let listenerPort: number;
  const seen: http.IncomingHttpHeaders[] = [];

  beforeAll(async () => {
    backend = http.createServer((req, res) => {
      seen.push(req.headers);
      if (req.url === "/slow") return void setTimeout(() => res.end("late"), 1500);
      if (req.url === "/flaky" && flaky++ % 2 === 0) {
        res.statusCode = 503;
        return void res.end("try again");
      }
      res.end(`ok ${req.url}`);
    });
    await new Promise<void>((r) => backend.listen(0, "127.0.0.1", r));
    backendPort = (backend.address() as net.AddressInfo).port;
    const probe = net.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    listenerPort = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    h = await startRuntime({ clusters: [staticCluster("static-dead", [1])] });
  });
  afterAll(async () => {
    await h?.close();
    backend?.close();
  });

  it("warms EDS clusters, then serves CDS → EDS → LDS → RDS", async () => {
    await h.runtime.apply(
      batch(TypeUrl.Cluster, ClusterSchema, [
        { name: "outbound|80||svc", type: "EDS", connect_timeout: "1s", eds_cluster_config: { eds_config: { ads: {} }, service_name: "outbound|80||svc" } },
        staticCluster("dead", [1]),
      ]),
    );
    expect(h.runtime.subscriptions().eds).toEqual(["outbound|80||svc"]);
    expect(h.runtime.dump().clusters.find((c) => c.name === "outbound|80||svc")?.state).toBe("warming");

    await h.runtime.apply(
      batch(TypeUrl.Listener, ListenerSchema, [
        {
          name: "0.0.0.0_80",
          address: { socket_address: { address: "127.0.0.1", port_value: listenerPort } },
          filter_chains: [
            {
              filters: [
                {
                  name: "envoy.filters.network.http_connection_manager",
                  typed_config: {
                    "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                    stat_prefix: "outbound_0.0.0.0_80",
                    rds: { route_config_name: "80", config_source: { ads: {} } },
                    http_filters: [{ name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } }],
                    access_log: ACCESS_LOG,
                  },
                },
              ],
            },
          ],
        },
      ]),
    );
    expect(h.runtime.subscriptions().rds).toEqual(["80"]);
    // Warming until RDS "80" arrives: not bound yet.
    expect(h.runtime.dump().listeners.find((l) => l.name === "0.0.0.0_80")?.state).toBe("warming");
    await expect(get(listenerPort, "/")).rejects.toThrow(/ECONNREFUSED/);

    await h.runtime.apply(
      batch(TypeUrl.RouteConfiguration, RouteConfigurationSchema, [
        {
          name: "80",
          virtual_hosts: [
            {
              name: "svc",
              domains: ["*"],
              include_request_attempt_count: true,
              routes: [
                { name: "slow", match: { prefix: "/slow" }, route: { cluster: "outbound|80||svc", timeout: "0.3s" } },
                { name: "idle", match: { prefix: "/idle" }, route: { cluster: "outbound|80||svc", timeout: "0s", idle_timeout: "0.3s", prefix_rewrite: "/slow" } },
                { name: "flaky", match: { prefix: "/flaky" }, route: { cluster: "outbound|80||svc", retry_policy: { retry_on: "retriable-status-codes", retriable_status_codes: [503], num_retries: 2 } } },
                { name: "dead", match: { prefix: "/dead" }, route: { cluster: "dead", retry_policy: { retry_on: "connect-failure", num_retries: 1 } } },
                { name: "rewrite", match: { prefix: "/old/" }, route: { cluster: "outbound|80||svc", prefix_rewrite: "/new/" }, request_headers_to_add: [{ header: { key: "x-route", value: "r" } }] },
                { name: "default", match: { prefix: "/" }, route: { cluster: "outbound|80||svc" } },
              ],
            },
          ],
        },
      ]),
    );
    expect(h.runtime.dump().listeners.find((l) => l.name === "0.0.0.0_80")?.state).toBe("active");
    // Cluster still warming: not active yet, so NC.
    const warming = await get(listenerPort, "/x");
    expect(warming.status).toBe(503);
    expect((await h.logs.waitFor((i) => i.routeName === "default")).responseFlags).toEqual(["NC"]);

    await h.runtime.apply(
      batch(TypeUrl.ClusterLoadAssignment, ClusterLoadAssignmentSchema, [
        { cluster_name: "outbound|80||svc", endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: backendPort } } } }] }] },
      ]),
    );
    const ok = await get(listenerPort, "/x");
    expect(ok).toMatchObject({ status: 200, body: "ok /x" });
    expect(h.runtime.initialized()).toBe(true);
    expect(h.runtime.dump().clusters.find((c) => c.name === "outbound|80||svc")?.state).toBe("active");
    expect(h.stats.get("cluster.outbound|80||svc.membership_healthy")).toBe(1);
    expect(h.stats.get("listener.127.0.0.1_" + listenerPort + ".downstream_cx_total")).toBeGreaterThan(0);
  });

  it("leaves unchanged clusters alone on a SotW CDS resend", async () => {
    const before = h.runtime.dump().clusters.find((c) => c.name === "outbound|80||svc")!.lastUpdated;
    await h.runtime.apply(
      batch(TypeUrl.Cluster, ClusterSchema, [
        { name: "outbound|80||svc", type: "EDS", connect_timeout: "1s", eds_cluster_config: { eds_config: { ads: {} }, service_name: "outbound|80||svc" } },
        staticCluster("dead", [1]),
      ], "2"),
    );
    const after = h.runtime.dump().clusters.find((c) => c.name === "outbound|80||svc")!;
    expect(after.lastUpdated).toBe(before);
    expect(after.version).toBe("2");
    expect((await get(listenerPort, "/x")).status).toBe(200);
  });

  it("rewrites the prefix and adds route headers; the upstream sees x-envoy-original-path", async () => {
    const r = await get(listenerPort, "/old/thing?q=1");
    expect(r.body).toBe("ok /new/thing?q=1");
    const hdr = seen[seen.length - 1];
    expect(hdr["x-envoy-original-path"]).toBe("/old/thing?q=1");
    expect(hdr["x-route"]).toBe("r");
  });

  it("times out with 504 UT 'upstream request timeout'", async () => {
    const r = await get(listenerPort, "/slow");
    expect(r).toMatchObject({ status: 504, body: "upstream request timeout" });
    expect((await h.logs.waitFor((i) => i.routeName === "slow")).responseFlags).toEqual(["UT"]);
  });

  it("applies the route's idle_timeout over stream_idle_timeout (408 SI)", async () => {
    const r = await get(listenerPort, "/idle");
    expect(r.status).toBe(408);
    expect((await h.logs.waitFor((i) => i.routeName === "idle")).responseFlags).toEqual(["SI"]);
  });

  it("retries a retriable status code; the upstream sees x-envoy-attempt-count 2", async () => {
    flaky = 0;
    const r = await get(listenerPort, "/flaky");
    expect(r.status).toBe(200);
    expect(seen[seen.length - 1]["x-envoy-attempt-count"]).toBe("2");
    expect(h.stats.get("cluster.outbound|80||svc.upstream_rq_retry")).toBeGreaterThanOrEqual(1);
  });

  it("answers 503 UF then URX when connect retries are exhausted, with Envoy's body", async () => {
    const r = await get(listenerPort, "/dead");
    expect(r.status).toBe(503);
    expect(r.body).toMatch(/^upstream connect error or disconnect\/reset before headers\. retried and the latest reset reason: connection failure/);
    expect((await h.logs.waitFor((i) => i.routeName === "dead")).responseFlags).toEqual(["UF", "URX"]);
    expect(h.stats.get("cluster.dead.upstream_cx_connect_fail")).toBeGreaterThanOrEqual(2);
  });

  it("NACKs a bad route config naming resource and field, keeping the old one", async () => {
    const bad = batch(TypeUrl.RouteConfiguration, RouteConfigurationSchema, [
      { name: "80", virtual_hosts: [{ name: "v", domains: ["*"], routes: [{ match: { safe_regex: { regex: "([" } }, route: { cluster: "c" } }] }] },
    ]);
    await expect(h.runtime.apply(bad)).rejects.toThrow(ResourceRejectedError);
    await expect(h.runtime.apply(bad)).rejects.toThrow(/^80: virtual_hosts\[0\]\.routes\[0\]\.match\.safe_regex\.regex: invalid RE2 regex/);
    expect((await get(listenerPort, "/x")).status).toBe(200);
  });

  it("removes listeners missing from a SotW LDS response", async () => {
    await h.runtime.apply({ typeUrl: TypeUrl.Listener, version: "2", resources: [], removed: [], stateOfTheWorld: true });
    expect(h.runtime.listenerAddresses()).toEqual([]);
    await expect(get(listenerPort, "/x")).rejects.toThrow();
  });
});

describe("tcp_proxy and tls_inspector", () => {
  let h: Harness;
  const servers: net.Server[] = [];
  beforeAll(async () => {
    const named = async (name: string) => {
      const s = net.createServer((c) => {
        c.once("data", () => c.end(name));
      });
      await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
      servers.push(s);
      return (s.address() as net.AddressInfo).port;
    };
    const [a, b, raw] = [await named("A"), await named("B"), await named("RAW")];
    const tcp = (cluster: string) => [{ name: "tcp", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", stat_prefix: cluster, cluster, access_log: ACCESS_LOG } }];
    h = await startRuntime({
      clusters: [staticCluster("a", [a]), staticCluster("b", [b]), staticCluster("raw", [raw])],
      listeners: [
        {
          name: "passthrough",
          address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
          listener_filters: [{ name: "envoy.filters.listener.tls_inspector", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector" } }],
          filter_chains: [
            { filter_chain_match: { server_names: ["a.test"] }, filters: tcp("a") },
            { filter_chain_match: { server_names: ["*.test"] }, filters: tcp("b") },
            { filters: tcp("raw") },
          ],
        },
      ],
    });
  });
  afterAll(async () => {
    await h?.close();
    for (const s of servers) s.close();
  });

  const exchange = async (port: number, first: Buffer): Promise<string> =>
    new Promise((resolve, reject) => {
      const c = net.connect(port, "127.0.0.1", () => c.write(first));
      let out = "";
      c.on("data", (d) => (out += d));
      c.on("end", () => resolve(out));
      c.on("error", reject);
    });

  it.each([
    ["a.test", "A"],
    ["x.test", "B"],
  ])("routes TLS with SNI %s to %s without terminating TLS", async (sni, want) => {
    // Capture a real ClientHello for this SNI.
    const cap = net.createServer();
    await new Promise<void>((r) => cap.listen(0, "127.0.0.1", r));
    const hello = new Promise<Buffer>((resolve) => cap.once("connection", (s) => s.once("data", (d: Buffer) => (resolve(d), s.destroy()))));
    tls.connect({ host: "127.0.0.1", port: (cap.address() as net.AddressInfo).port, servername: sni }).on("error", () => {});
    const buf = await hello;
    cap.close();
    expect(await exchange(h.port("passthrough"), buf)).toBe(want);
    const log = await h.logs.waitFor((i) => i.requestedServerName === sni);
    expect(log.upstreamCluster).toBe(want.toLowerCase());
  });

  it("sends plaintext to the chain without a match and logs bytes", async () => {
    expect(await exchange(h.port("passthrough"), Buffer.from("hello"))).toBe("RAW");
    const log = await h.logs.waitFor((i) => i.upstreamCluster === "raw");
    expect(log.bytesReceived).toBe(5);
    expect(log.bytesSent).toBe(3);
    expect(h.stats.get("tcp.raw.downstream_cx_total")).toBe(1);
  });

  it("curl through tcp_proxy works end to end", async () => {
    const srv = http.createServer((_q, s) => s.end("via tcp"));
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const h2 = await startRuntime({
      clusters: [staticCluster("web", [(srv.address() as net.AddressInfo).port])],
      listeners: [{ name: "t", address: { socket_address: { address: "127.0.0.1", port_value: 0 } }, filter_chains: [{ filters: [{ name: "tcp", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", stat_prefix: "web", cluster: "web" } }] }] }],
    });
    const { stdout } = await run("curl", ["-s", "--max-time", "5", `http://127.0.0.1:${h2.port("t")}/`]);
    expect(stdout).toBe("via tcp");
    await h2.close();
    srv.close();
  });
});

describe("initialization (PRE_INITIALIZING → LIVE)", () => {
  it("goes LIVE once CDS, EDS, LDS and RDS have all arrived", async () => {
    const rt = createProxyRuntime({ stats: createFakeStats(), accessLogs: () => ({ log() {} }), logger: pino({ level: "silent" }), nodeId: "n", reportUnsupported() {} });
    await rt.applyBootstrap(fromEnvoyJson(BootstrapSchema, { dynamic_resources: { ads_config: { api_type: "GRPC" }, cds_config: { ads: {} }, lds_config: { ads: {} } } } as never));
    let live = false;
    rt.onInitialized(() => (live = true));
    expect(rt.initialized()).toBe(false);
    await rt.apply(batch(TypeUrl.Cluster, ClusterSchema, [{ name: "c", type: "EDS", eds_cluster_config: { eds_config: { ads: {} } } }]));
    expect(rt.initialized()).toBe(false);
    await rt.apply(batch(TypeUrl.ClusterLoadAssignment, ClusterLoadAssignmentSchema, [{ cluster_name: "c", endpoints: [] }]));
    expect(rt.initialized()).toBe(false);
    await rt.apply(
      batch(TypeUrl.Listener, ListenerSchema, [
        {
          name: "l",
          address: { socket_address: { address: "127.0.0.1", port_value: 0 } },
          filter_chains: [{ filters: [{ name: "hcm", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", stat_prefix: "s", rds: { route_config_name: "r", config_source: { ads: {} } }, http_filters: [{ name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } }] } }] }],
        },
      ]),
    );
    expect(rt.initialized()).toBe(false);
    expect(rt.subscriptions()).toEqual({ eds: ["c"], rds: ["r"], sds: [] });
    await rt.apply(batch(TypeUrl.RouteConfiguration, RouteConfigurationSchema, [{ name: "r", virtual_hosts: [] }]));
    expect(rt.initialized()).toBe(true);
    expect(live).toBe(true);
    await rt.close();
  });
});
