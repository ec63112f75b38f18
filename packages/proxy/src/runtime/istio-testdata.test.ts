// Every listener, route and cluster in ../shared/testdata/istio compiles (Istio's
// real configs); bad input is rejected naming the field.
import { readFileSync } from "node:fs";
import { fromEnvoyJson, parseEnvoyText } from "@weft/xds-api";
import { ClusterSchema } from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb.js";
import { ListenerSchema } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "@weft/xds-api/gen/envoy/config/route/v3/route_pb.js";
import { describe, expect, it } from "vitest";
import { createDefaultHttpFilters } from "../http/filters/default-filters.js";
import { compileCluster } from "./compile-cluster.js";
import { compileListener } from "./compile-listener.js";
import { compileRouteConfig } from "./compile-route-config.js";
import { loadRev0Bootstrap } from "../test-util/testdata.js";

const DIR = new URL("../../../../../shared/testdata/istio/", import.meta.url);
type Json = Record<string, unknown>;

function collect(file: string): { listeners: Json[]; routes: Json[]; clusters: Json[] } {
  const doc = parseEnvoyText(readFileSync(new URL(file, DIR), "utf8"), file) as { configs: Json[] };
  const out = { listeners: [] as Json[], routes: [] as Json[], clusters: [] as Json[] };
  for (const c of doc.configs) {
    const t = String(c["@type"]);
    const strip = (x: Json) => {
      const { "@type": _t, ...rest } = x;
      return rest;
    };
    if (t.endsWith("ListenersConfigDump")) {
      for (const l of [...((c.static_listeners as Json[]) ?? []), ...((c.dynamic_listeners as Json[]) ?? [])]) {
        const v = (l.active_state as Json | undefined)?.listener ?? l.listener;
        if (v) out.listeners.push(strip(v as Json));
      }
    } else if (t.endsWith("RoutesConfigDump")) {
      for (const r of [...((c.static_route_configs as Json[]) ?? []), ...((c.dynamic_route_configs as Json[]) ?? [])]) out.routes.push(strip(r.route_config as Json));
    } else if (t.endsWith("ClustersConfigDump")) {
      for (const r of [...((c.static_clusters as Json[]) ?? []), ...((c.dynamic_active_clusters as Json[]) ?? []), ...((c.dynamic_warming_clusters as Json[]) ?? [])]) out.clusters.push(strip(r.cluster as Json));
    }
  }
  return out;
}

const deps = { filters: createDefaultHttpFilters(), accessLogs: () => ({ log() {} }), report() {} };
const OPTS = { ignoreUnknownFields: true };

describe.each(["config-dump-full.json", "http-config-dump.json"])("Istio config dump %s", (file) => {
  const { listeners, routes, clusters } = collect(file);
  it("has resources", () => expect(listeners.length + routes.length + clusters.length).toBeGreaterThan(0));
  it.each(listeners.map((l) => [String(l.name), l]))("listener %s compiles", (_n, l) => {
    expect(() => compileListener(fromEnvoyJson(ListenerSchema, l as never, OPTS), deps)).not.toThrow();
  });
  it.each(routes.map((r) => [String(r.name), r]))("route config %s compiles", (_n, r) => {
    expect(() => compileRouteConfig(fromEnvoyJson(RouteConfigurationSchema, r as never, OPTS), deps)).not.toThrow();
  });
  it.each(clusters.map((c) => [String(c.name), c]))("cluster %s compiles", (_n, c) => {
    expect(() => compileCluster(fromEnvoyJson(ClusterSchema, c as never, OPTS), () => {})).not.toThrow();
  });
});

describe("the authorization sidecar dump (sidecar-configdump-authz.yaml)", () => {
  const { listeners, routes } = collect("sidecar-configdump-authz.yaml");
  it("has listeners with rbac, network rbac and ext_authz filters", () => {
    const text = JSON.stringify(listeners);
    for (const f of ["envoy.filters.http.rbac", "envoy.filters.network.rbac", "envoy.filters.http.ext_authz"]) expect(text).toContain(f);
  });
  it.each(listeners.map((l) => [String(l.name), l]))("listener %s compiles", (_n, l) => {
    expect(() => compileListener(fromEnvoyJson(ListenerSchema, l as never, OPTS), deps)).not.toThrow();
  });
  it.each(routes.map((r) => [String(r.name), r]))("route config %s compiles", (_n, r) => {
    expect(() => compileRouteConfig(fromEnvoyJson(RouteConfigurationSchema, r as never, OPTS), deps)).not.toThrow();
  });
});

describe("rejections", () => {
  it("names the port field for port 70000", () => {
    const l = fromEnvoyJson(ListenerSchema, {
      name: "bad",
      address: { socket_address: { address: "0.0.0.0", port_value: 70000 } },
      filter_chains: [{ filters: [{ name: "t", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", stat_prefix: "t", cluster: "c" } }] }],
    } as never);
    expect(() => compileListener(l, deps)).toThrow(/^bad: address\.socket_address\.port_value: port 70000 is out of range/);
  });
  it("rejects an unknown non-optional HTTP filter and skips an optional one", () => {
    const mk = (optional: boolean) =>
      fromEnvoyJson(ListenerSchema, {
        name: "l",
        address: { socket_address: { address: "127.0.0.1", port_value: 1 } },
        filter_chains: [
          {
            filters: [
              {
                name: "hcm",
                typed_config: {
                  "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                  stat_prefix: "s",
                  route_config: { name: "r" },
                  http_filters: [
                    // A type the xDS registry knows but no HTTP filter implements (a network filter's config).
                    { name: "envoy.filters.http.not_implemented", is_optional: optional, typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", stat_prefix: "x", cluster: "c" } },
                    { name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } },
                  ],
                },
              },
            ],
          },
        ],
      } as never);
    expect(() => compileListener(mk(false), deps)).toThrow(/l: filter_chains\[0\]\.filters\[0\]\.typed_config\.http_filters\[0\]\.typed_config: unknown or unimplemented HTTP filter envoy\.filters\.http\.not_implemented/);
    expect(() => compileListener(mk(true), deps)).not.toThrow();
  });
  it("rejects ORIGINAL_DST without CLUSTER_PROVIDED", () => {
    const c = fromEnvoyJson(ClusterSchema, { name: "od", type: "ORIGINAL_DST", lb_policy: "ROUND_ROBIN" } as never);
    expect(() => compileCluster(c, () => {})).toThrow(/od: lb_policy/);
  });
});

describe("pilot-agent's bootstrap (envoy-rev0.json)", () => {
  it("compiles every static listener and cluster", async () => {
    const b = loadRev0Bootstrap();
    const reports: string[] = [];
    const d = { ...deps, report: (f: string) => void reports.push(f) };
    const names = b.staticResources!.listeners.map((l) => compileListener(l, d).name);
    expect(names.length).toBeGreaterThanOrEqual(2);
    for (const c of b.staticResources!.clusters) expect(compileCluster(c, (f) => void reports.push(f)).name).toBe(c.name);
  });
});

describe("TLS in Istio's configs is compiled, not skipped", () => {
  it("virtualInbound's mTLS chains carry Istio's DownstreamTlsContext with SDS default/ROOTCA from sds-grpc", () => {
    const { listeners } = collect("sidecar-configdump-authz.yaml");
    const reports: string[] = [];
    const vi = listeners.find((l) => l.name === "virtualInbound")!;
    const cfg = compileListener(fromEnvoyJson(ListenerSchema, vi as never, OPTS), { ...deps, report: (f: string) => void reports.push(f) });
    const tlsChains = cfg.chains.filter((c) => c.tls);
    expect(tlsChains.length).toBeGreaterThan(0);
    const http = tlsChains.find((c) => c.match.applicationProtocols.includes("istio-http/1.1") && c.terminal.kind === "http")!;
    expect(http).toBeDefined();
    expect(http.tls!.requireClientCert).toBe(true);
    expect(http.tls!.alpn).toEqual(["h2", "http/1.1"]);
    expect(http.tls!.minVersion).toBe("TLSv1.2");
    expect(http.tls!.refs.map((r) => `${r.source.key}/${r.name}`)).toEqual(["grpc:sds-grpc/default", "grpc:sds-grpc/ROOTCA"]);
    expect(http.terminal.kind === "http" && http.terminal.hcm.xfcc).toEqual({ mode: "APPEND_FORWARD", details: ["Subject", "URI", "DNS"] });
    // The SAN prefix matcher is compiled with the default validation context.
    const inline = http.tls!.validation!.inline!;
    expect(inline.sanMatch!([{ type: "URI", value: "spiffe://cluster.local/ns/a/sa/b", hasNul: false }])).toBe(true);
    expect(inline.sanMatch!([{ type: "URI", value: "spiffe://other/ns/a/sa/b", hasNul: false }])).toBe(false);
    expect(reports.filter((r) => /transport_socket|tls/i.test(r))).toEqual([]);
  });

  it("an outbound cluster's transport_socket_matches give UpstreamTlsContext for tlsMode istio and plaintext otherwise", () => {
    const { clusters } = collect("http-config-dump.json");
    const withMatches = clusters.filter((c) => Array.isArray(c.transport_socket_matches));
    expect(withMatches.length).toBeGreaterThan(0);
    for (const c of withMatches) {
      const cfg = compileCluster(fromEnvoyJson(ClusterSchema, c as never, OPTS), () => {});
      const [istio, disabled] = cfg.transport!.matches;
      expect(istio.match).toEqual({ tlsMode: "istio" });
      expect(istio.tls!.sni).toMatch(/^outbound_\.\d+_\./);
      expect(istio.tls!.alpn).toEqual(["istio-peer-exchange", "istio"]);
      expect(istio.tls!.refs.map((r) => r.name)).toEqual(["default", "ROOTCA"]);
      expect(disabled.match).toEqual({});
      expect(disabled.tls).toBeUndefined();
    }
  });
});
