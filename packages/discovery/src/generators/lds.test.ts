import type { JsonObject } from "@bufbuild/protobuf";
import { TypeUrl } from "@weft/xds-api";
import { describe, expect, it } from "vitest";
import { generate, proxyOf, validationIssues } from "../test-util/mesh-fixtures.js";
import { json, productpageProxy, smallPush } from "../test-util/small-mesh.js";
import { SIDECAR_OUTBOUND_MX_FILTER, statsFilter } from "./telemetry-filters.js";

const byName = (list: JsonObject[]): Map<string, JsonObject> => new Map(list.map((c) => [String(c.name), c]));
const hcmOf = (chain: JsonObject): JsonObject => ((chain.filters as JsonObject[]).find((f) => f.name === "envoy.filters.network.http_connection_manager")!.typed_config as JsonObject);

describe("LDS for sidecars", () => {
  const push = smallPush();
  const listeners = byName(json(push, productpageProxy(), "Listener"));

  it("names listeners as Istio does", () => {
    expect([...listeners.keys()]).toEqual(["0.0.0.0_7070", "0.0.0.0_9080", "10.96.0.12_27017", "virtualOutbound", "virtualInbound"]);
    expect(validationIssues(generate(push, productpageProxy(), TypeUrl.Listener))).toEqual([]);
  });

  it("routes HTTP ports through RDS named by port, not bound", () => {
    const l = listeners.get("0.0.0.0_9080")!;
    expect(l.bind_to_port).toBe(false);
    const hcm = hcmOf((l.filter_chains as JsonObject[])[0]);
    expect(hcm.rds).toEqual({ config_source: { ads: {}, initial_fetch_timeout: "0s", resource_api_version: "V3" }, route_config_name: "9080" });
    expect(hcm.use_remote_address).toBe(false);
    const filters = hcm.http_filters as JsonObject[];
    expect(filters.map((f) => f.name)).toEqual(["istio.metadata_exchange", "istio.alpn", "envoy.filters.http.fault", "envoy.filters.http.cors", "istio.stats", "envoy.filters.http.router"]);
    expect(filters[0]).toEqual(SIDECAR_OUTBOUND_MX_FILTER);
    expect(filters[4]).toEqual({ name: "istio.stats", typed_config: { "@type": "type.googleapis.com/stats.PluginConfig" } });
    expect(hcm.request_id_extension).toBeDefined();
    expect(hcm.access_log).toBeUndefined();
  });

  it("PILOT_SIDECAR_USE_REMOTE_ADDRESS: outbound HTTP listeners use the remote address, inbound ones never", () => {
    const all = byName(json(smallPush("", { sidecarUseRemoteAddress: true }), productpageProxy(), "Listener"));
    expect(hcmOf((all.get("0.0.0.0_9080")!.filter_chains as JsonObject[])[0]).use_remote_address).toBe(true);
    const inbound = (all.get("virtualInbound")!.filter_chains as JsonObject[]).filter((c) => (c.filters as JsonObject[]).some((f) => f.name === "envoy.filters.network.http_connection_manager"));
    expect(inbound.length).toBeGreaterThan(0);
    for (const c of inbound) expect(hcmOf(c).use_remote_address).toBe(false);
  });

  it("bounds a transport handshake on every outbound chain at 15 s, as istiod's buildListenerFromEntry; not on virtualOutbound or inbound", () => {
    for (const name of ["0.0.0.0_7070", "0.0.0.0_9080", "10.96.0.12_27017"]) {
      for (const c of listeners.get(name)!.filter_chains as JsonObject[]) expect(c.transport_socket_connect_timeout, name).toBe("15s");
    }
    for (const name of ["virtualOutbound", "virtualInbound"]) {
      for (const c of listeners.get(name)!.filter_chains as JsonObject[]) expect(c.transport_socket_connect_timeout, name).toBeUndefined();
    }
  });

  it("proxies TCP services on their VIP with tcp_proxy", () => {
    expect(listeners.get("10.96.0.12_27017")).toMatchObject({
      address: { socket_address: { address: "10.96.0.12", port_value: 27017 } },
      bind_to_port: false,
      filter_chains: [
        {
          filters: [
            { name: "istio.stats", typed_config: { "@type": "type.googleapis.com/stats.PluginConfig" } },
            { name: "envoy.filters.network.tcp_proxy", typed_config: { stat_prefix: "outbound|27017||mongo.default.svc.cluster.local", cluster: "outbound|27017||mongo.default.svc.cluster.local" } },
          ],
        },
      ],
    });
  });

  it("splits TCP traffic by a VirtualService's tcp routes", () => {
    const split = smallPush(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: mongo, namespace: default }
spec: { host: mongo, subsets: [{ name: a, labels: { app: mongo } }, { name: b, labels: { app: mongo } }] }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: mongo, namespace: default }
spec:
  hosts: [mongo]
  tcp:
  - match: [{ port: 27017 }]
    route:
    - { destination: { host: mongo, subset: a }, weight: 75 }
    - { destination: { host: mongo, subset: b }, weight: 25 }
`);
    const l = byName(json(split, productpageProxy(), "Listener")).get("10.96.0.12_27017")!;
    expect((l.filter_chains as JsonObject[])[0].filters).toEqual([
      statsFilter("outbound"),
      {
        name: "envoy.filters.network.tcp_proxy",
        typed_config: {
          "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
          stat_prefix: "outbound|27017|a|mongo.default.svc.cluster.local",
          weighted_clusters: { clusters: [{ name: "outbound|27017|a|mongo.default.svc.cluster.local", weight: 75 }, { name: "outbound|27017|b|mongo.default.svc.cluster.local", weight: 25 }] },
        },
      },
    ]);
    expect(validationIssues(generate(split, productpageProxy(), TypeUrl.Listener))).toEqual([]);
  });

  it("has virtualOutbound on 15001 with use_original_dst and a passthrough catch-all", () => {
    const l = listeners.get("virtualOutbound")!;
    expect(l).toMatchObject({ address: { socket_address: { address: "0.0.0.0", port_value: 15001 } }, use_original_dst: true, traffic_direction: "OUTBOUND" });
    expect((l.filter_chains as JsonObject[]).map((c) => c.name)).toEqual(["virtualOutbound-blackhole", "virtualOutbound-catchall-tcp"]);
    expect(JSON.stringify((l.filter_chains as JsonObject[])[1])).toContain('"cluster":"PassthroughCluster"');
  });

  it("has virtualInbound on 15006 with a chain per inbound port and passthrough chains", () => {
    const l = listeners.get("virtualInbound")!;
    const chains = l.filter_chains as JsonObject[];
    // PERMISSIVE by default: an mTLS and a plaintext chain per port (security/inbound-security.test.ts has the rest).
    expect(chains.map((c) => c.name)).toEqual(["virtualInbound-blackhole", "0.0.0.0_9080", "0.0.0.0_9080", "virtualInbound-catchall-http", "virtualInbound-catchall-http", "virtualInbound", "virtualInbound", "virtualInbound"]);
    const inbound = chains[2];
    expect(inbound.filter_chain_match).toEqual({ destination_port: 9080, transport_protocol: "raw_buffer" });
    const hcm = hcmOf(inbound);
    expect(hcm.stat_prefix).toBe("inbound_0.0.0.0_9080");
    expect(hcm.route_config).toEqual({
      name: "inbound|9080||",
      virtual_hosts: [
        {
          name: "inbound|http|9080",
          domains: ["*"],
          routes: [
            {
              name: "default",
              match: { prefix: "/" },
              route: { cluster: "inbound|9080||", timeout: "0s", max_stream_duration: { max_stream_duration: "0s", grpc_timeout_header_max: "0s" } },
              decorator: { operation: "productpage.default.svc.cluster.local:9080/*" },
            },
          ],
        },
      ],
      validate_clusters: false,
    });
    expect(JSON.stringify(chains[6])).toContain('"cluster":"InboundPassthroughCluster"');
  });

  it("blackholes unknown destinations under REGISTRY_ONLY", () => {
    const strict = smallPush("", { outboundTrafficPolicy: "REGISTRY_ONLY" });
    const l = byName(json(strict, productpageProxy(), "Listener")).get("virtualOutbound")!;
    expect(JSON.stringify((l.filter_chains as JsonObject[])[1])).toContain('"cluster":"BlackHoleCluster"');
  });

  it("adds a file access log only when the mesh config asks", () => {
    const logged = smallPush("", { accessLogFile: "/dev/stdout", accessLogEncoding: "JSON" });
    const l = byName(json(logged, productpageProxy(), "Listener")).get("0.0.0.0_9080")!;
    const log = (hcmOf((l.filter_chains as JsonObject[])[0]).access_log as JsonObject[])[0];
    expect(log).toMatchObject({ name: "envoy.access_loggers.file", typed_config: { path: "/dev/stdout", log_format: { json_format: { response_flags: "%RESPONSE_FLAGS%" } } } });
    expect(validationIssues(generate(logged, productpageProxy(), TypeUrl.Listener))).toEqual([]);
  });

  it("follows the Telemetry API: the root namespace turns access logs on, a namespace can turn them off", () => {
    const on = `apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: mesh-default, namespace: istio-system }
spec: { accessLogging: [{ providers: [{ name: envoy }] }] }
`;
    const hasLog = (yaml: string): boolean => {
      const push = smallPush(yaml);
      const l = byName(json(push, productpageProxy(), "Listener")).get("0.0.0.0_9080")!;
      return hcmOf((l.filter_chains as JsonObject[])[0]).access_log !== undefined;
    };
    expect(hasLog(on)).toBe(true);
    expect(hasLog(`${on}---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: quiet, namespace: default }
spec: { accessLogging: [{ disabled: true }] }
`)).toBe(false);
  });

  it("scopes listeners to a Sidecar's egress hosts", () => {
    const scoped = smallPush(`apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default, namespace: default }
spec:
  egress: [{ hosts: ["./reviews.default.svc.cluster.local"] }]
`);
    expect(json(scoped, productpageProxy(), "Listener").map((l) => l.name)).toEqual(["0.0.0.0_9080", "virtualOutbound", "virtualInbound"]);
    expect(json(scoped, productpageProxy(), "Cluster").map((c) => c.name)).not.toContain("outbound|7070||ratings.default.svc.cluster.local");
  });
});

describe("Sidecar egress listeners bound to a port", () => {
  it("give that port only their hosts, and other ports the port-less listener's", () => {
    const push = smallPush(`apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default, namespace: default }
spec:
  egress:
  - port: { number: 9080, protocol: HTTP, name: http }
    hosts: ["./productpage.default.svc.cluster.local"]
  - hosts: ["./*"]
`);
    const proxy = productpageProxy();
    expect(json(push, proxy, "Listener").map((l) => l.name)).toEqual(["0.0.0.0_7070", "0.0.0.0_9080", "10.96.0.12_27017", "virtualOutbound", "virtualInbound"]);
    const hosts = (json(push, proxy, "RouteConfiguration", ["9080"])[0].virtual_hosts as JsonObject[]).map((v) => v.name);
    expect(hosts).toEqual(["productpage.default.svc.cluster.local:9080", "allow_any"]);
    // Clusters stay the union: reviews is still reachable through other ports' config.
    expect(json(push, proxy, "Cluster").map((c) => c.name)).toContain("outbound|9080||reviews.default.svc.cluster.local");
  });
});

describe("LDS for proxyless gRPC", () => {
  it("has one api_listener per service port named host:port, with RDS of the same name", () => {
    const push = smallPush();
    const client = proxyOf({ ip: "10.9.0.1", pod: "client", namespace: "default", generator: "grpc" });
    const [l] = json(push, client, "Listener", ["ratings.default.svc.cluster.local:7070"]);
    expect(l).toEqual({
      name: "ratings.default.svc.cluster.local:7070",
      api_listener: {
        api_listener: {
          "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
          stat_prefix: "ratings.default.svc.cluster.local:7070",
          rds: { config_source: { ads: {}, resource_api_version: "V3" }, route_config_name: "ratings.default.svc.cluster.local:7070" },
          http_filters: [
            { name: "envoy.filters.http.fault", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault" } },
            { name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } },
          ],
        },
      },
    });
    const [rc] = json(push, client, "RouteConfiguration", ["ratings.default.svc.cluster.local:7070"]);
    expect((rc.virtual_hosts as JsonObject[])[0].domains).toContain("ratings.default.svc.cluster.local:7070");
  });
});
