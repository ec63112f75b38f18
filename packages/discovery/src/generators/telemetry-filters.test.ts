import type { JsonObject } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import { AnySchema } from "@bufbuild/protobuf/wkt";
import { TypeUrl, unpackAny } from "@weft/xds-api";
import { ListenerSchema } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_pb.js";
import { describe, expect, it } from "vitest";
import type { ProxyInfo, XdsResource } from "../contracts.js";
import { authzDumpListener } from "../test-util/istio-dump.js";
import { generate, proxyOf, validationIssues } from "../test-util/mesh-fixtures.js";
import { json, productpageProxy, smallPush } from "../test-util/small-mesh.js";
import { messageResource } from "./resource.js";

type Push = ReturnType<typeof smallPush>;

// istiod's filters, spelled out here rather than imported so the test checks the constants.
const INBOUND_MX = {
  name: "istio.metadata_exchange",
  typed_config: {
    "@type": "type.googleapis.com/udpa.type.v1.TypedStruct",
    type_url: "type.googleapis.com/io.istio.http.peer_metadata.Config",
    value: { downstream_discovery: [{ istio_headers: {} }, { workload_discovery: {} }], downstream_propagation: [{ istio_headers: {} }] },
  },
};
const OUTBOUND_MX = {
  name: "istio.metadata_exchange",
  typed_config: {
    "@type": "type.googleapis.com/udpa.type.v1.TypedStruct",
    type_url: "type.googleapis.com/io.istio.http.peer_metadata.Config",
    value: { upstream_discovery: [{ istio_headers: {} }, { workload_discovery: {} }], upstream_propagation: [{ istio_headers: {} }] },
  },
};
const OUTBOUND_STATS = { name: "istio.stats", typed_config: { "@type": "type.googleapis.com/stats.PluginConfig" } };
const INBOUND_STATS = { name: "istio.stats", typed_config: { "@type": "type.googleapis.com/stats.PluginConfig", disable_host_header_fallback: true } };
const GATEWAY_STATS = INBOUND_STATS;
// istiod's TCPListenerMx / TCPClusterMx (the message form, as shared/testdata/istio/http-config-dump.json's clusters carry it).
const TCP_MX = { name: "istio.metadata_exchange", typed_config: { "@type": "type.googleapis.com/envoy.tcp.metadataexchange.config.MetadataExchange", protocol: "istio-peer-exchange" } };

const HCM = "envoy.filters.network.http_connection_manager";
const TCP_PROXY = "envoy.filters.network.tcp_proxy";

const mongoProxy = (): ProxyInfo => proxyOf({ ip: "10.1.0.5", pod: "mongo-0", namespace: "default", labels: { app: "mongo" } });
const reviewsProxy = (): ProxyInfo => proxyOf({ ip: "10.1.0.1", pod: "reviews-v1", namespace: "default", labels: { app: "reviews", version: "v1" } });
const gatewayProxy = (): ProxyInfo => proxyOf({ type: "router", ip: "10.1.0.30", pod: "ingress", namespace: "istio-system", labels: { istio: "ingressgateway" } });
const explicitProxy = (): ProxyInfo =>
  proxyOf({ ip: "127.10.0.6", pod: "productpage-v1", namespace: "default", labels: { app: "productpage", version: "v1" }, extra: { INTERCEPTION_MODE: "NONE", WEFT_APP_ADDRESS: "127.11.0.6" } });

const GATEWAY = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: edge, namespace: istio-system }
spec:
  selector: { istio: ingressgateway }
  servers:
  - { port: { number: 80, name: http, protocol: HTTP }, hosts: ["*"] }
  - { port: { number: 27017, name: mongo, protocol: TCP }, hosts: ["*"] }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: edge, namespace: default }
spec:
  hosts: ["*"]
  gateways: [istio-system/edge]
  http: [{ route: [{ destination: { host: reviews, port: { number: 9080 } } }] }]
  tcp: [{ match: [{ port: 27017 }], route: [{ destination: { host: mongo, port: { number: 27017 } } }] }]
`;

const telemetry = (ns: string, name: string, spec: string): string => `---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: ${name}, namespace: ${ns} }
spec: ${spec}
`;
const DISABLE_ALL = `{ metrics: [{ providers: [{ name: prometheus }], overrides: [{ disabled: true }] }] }`;

interface Chain {
  listener: string;
  direction: string;
  chain: JsonObject;
}

function chainsOf(push: Push, proxy: ProxyInfo): Chain[] {
  return json(push, proxy, "Listener").flatMap((l) => (l.filter_chains as JsonObject[]).map((chain) => ({ listener: String(l.name), direction: String(l.traffic_direction), chain })));
}
const names = (filters: JsonObject[]): string[] => filters.map((f) => String(f.name));
const networkFilters = (c: Chain): JsonObject[] => c.chain.filters as JsonObject[];
const hcmOf = (c: Chain): JsonObject | undefined => networkFilters(c).find((f) => f.name === HCM)?.typed_config as JsonObject | undefined;
const httpFilters = (c: Chain): JsonObject[] => hcmOf(c)!.http_filters as JsonObject[];
const httpChains = (push: Push, proxy: ProxyInfo): Chain[] => chainsOf(push, proxy).filter((c) => hcmOf(c));
const tcpChains = (push: Push, proxy: ProxyInfo): Chain[] => chainsOf(push, proxy).filter((c) => networkFilters(c).some((f) => f.name === TCP_PROXY));
const statsFilters = (push: Push, proxy: ProxyInfo): JsonObject[] =>
  chainsOf(push, proxy).flatMap((c) => [...networkFilters(c), ...(hcmOf(c) ? httpFilters(c) : [])]).filter((f) => f.name === "istio.stats");

describe("istio.metadata_exchange and istio.stats in sidecar HTTP connection managers", () => {
  const push = smallPush();

  it("inbound (per-port and catch-all chains, mTLS and plaintext): downstream peer metadata first, istio.stats without Host fallback before the router", () => {
    const inbound = httpChains(push, productpageProxy()).filter((c) => c.listener === "virtualInbound");
    expect(inbound.map((c) => c.chain.name)).toEqual(["0.0.0.0_9080", "0.0.0.0_9080", "virtualInbound-catchall-http", "virtualInbound-catchall-http"]);
    for (const c of inbound) {
      const filters = httpFilters(c);
      expect(names(filters)).toEqual(["istio.metadata_exchange", "envoy.filters.http.fault", "envoy.filters.http.cors", "istio.stats", "envoy.filters.http.router"]);
      expect(filters[0]).toEqual(INBOUND_MX);
      expect(filters[3]).toEqual(INBOUND_STATS);
    }
  });

  it("outbound 0.0.0.0_<port>: upstream peer metadata first, then istio.alpn, and istio.stats (no config) before the router", () => {
    const outbound = httpChains(push, productpageProxy()).filter((c) => c.direction === "OUTBOUND");
    expect(outbound.map((c) => c.listener)).toEqual(["0.0.0.0_7070", "0.0.0.0_9080"]);
    for (const c of outbound) {
      const filters = httpFilters(c);
      expect(names(filters)).toEqual(["istio.metadata_exchange", "istio.alpn", "envoy.filters.http.fault", "envoy.filters.http.cors", "istio.stats", "envoy.filters.http.router"]);
      expect(filters[0]).toEqual(OUTBOUND_MX);
      expect(filters[4]).toEqual(OUTBOUND_STATS);
    }
  });

  it("keeps the security filters between peer metadata and the sidecar's own filters", () => {
    const secured = smallPush(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-admin, namespace: default }
spec: { action: DENY, rules: [{ to: [{ operation: { paths: ["/admin"] } }] }] }
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: jwt, namespace: default }
spec: { jwtRules: [{ issuer: issuer-1, jwks: '{"keys":[]}' }] }
`);
    const [c] = httpChains(secured, productpageProxy()).filter((x) => x.chain.name === "0.0.0.0_9080");
    expect(names(httpFilters(c!))).toEqual(["istio.metadata_exchange", "envoy.filters.http.jwt_authn", "envoy.filters.http.rbac", "envoy.filters.http.fault", "envoy.filters.http.cors", "istio.stats", "envoy.filters.http.router"]);
  });

  it("explicit mode: the HTTP proxy listener is outbound, the per-port inbound listeners inbound", () => {
    const chains = httpChains(push, explicitProxy());
    const proxyListener = chains.filter((c) => c.listener === "127.10.0.6_15001");
    const inbound = chains.filter((c) => c.listener === "127.10.0.6_9080");
    expect(proxyListener).toHaveLength(1);
    expect(inbound.length).toBeGreaterThan(0);
    expect(names(httpFilters(proxyListener[0]!))).toEqual(["istio.metadata_exchange", "envoy.filters.http.fault", "envoy.filters.http.cors", "istio.stats", "envoy.filters.http.router"]);
    expect(httpFilters(proxyListener[0]!)[0]).toEqual(OUTBOUND_MX);
    expect(httpFilters(proxyListener[0]!)[3]).toEqual(OUTBOUND_STATS);
    for (const c of inbound) {
      expect(httpFilters(c)[0]).toEqual(INBOUND_MX);
      expect(httpFilters(c)[3]).toEqual(INBOUND_STATS);
    }
  });
});

describe("istio.stats before tcp_proxy", () => {
  it("on every tcp_proxy chain of a sidecar, blackhole and passthrough ones included, with the listener's class", () => {
    const push = smallPush();
    for (const proxy of [productpageProxy(), mongoProxy()]) {
      const chains = tcpChains(push, proxy);
      expect(chains.length).toBeGreaterThan(0);
      for (const c of chains) {
        const filters = networkFilters(c);
        if (c.direction === "INBOUND") {
          expect(names(filters)).toEqual(["istio.metadata_exchange", "istio.stats", TCP_PROXY]);
          expect(filters[0]).toEqual(TCP_MX);
          expect(filters[1]).toEqual(INBOUND_STATS);
        } else {
          expect(names(filters)).toEqual(["istio.stats", TCP_PROXY]);
          expect(filters[0]).toEqual(OUTBOUND_STATS);
        }
      }
    }
    const names0 = (p: ProxyInfo): string[] => tcpChains(push, p).map((c) => `${c.listener}/${String(c.chain.name ?? "")}`);
    expect(names0(productpageProxy())).toEqual(expect.arrayContaining(["10.96.0.12_27017/", "virtualOutbound/virtualOutbound-blackhole", "virtualOutbound/virtualOutbound-catchall-tcp", "virtualInbound/virtualInbound-blackhole", "virtualInbound/virtualInbound"]));
    expect(names0(mongoProxy())).toEqual(expect.arrayContaining(["virtualInbound/0.0.0.0_27017"]));
  });

  it("under REGISTRY_ONLY too (the BlackHoleCluster catch-all)", () => {
    const push = smallPush("", { outboundTrafficPolicy: "REGISTRY_ONLY" });
    const catchAll = tcpChains(push, productpageProxy()).find((c) => c.chain.name === "virtualOutbound-catchall-tcp")!;
    expect(networkFilters(catchAll)[0]).toEqual(OUTBOUND_STATS);
    expect(JSON.stringify(networkFilters(catchAll)[1])).toContain('"cluster":"BlackHoleCluster"');
  });

  it("comes after the RBAC network filters, which come after the TCP metadata exchange (istiod: so RBAC failures can read the peer)", () => {
    const push = smallPush(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: mongo, namespace: default }
spec: { selector: { matchLabels: { app: mongo } }, rules: [{ to: [{ operation: { ports: ["27017"] } }] }] }
`);
    const inbound = tcpChains(push, mongoProxy()).filter((c) => c.chain.name === "0.0.0.0_27017" || c.chain.name === "virtualInbound");
    expect(inbound.length).toBeGreaterThan(0);
    for (const c of inbound) expect(names(networkFilters(c))).toEqual(["istio.metadata_exchange", "envoy.filters.network.rbac", "istio.stats", TCP_PROXY]);
  });

  it("puts the TCP istio.metadata_exchange (istio-peer-exchange) on sidecar inbound TCP chains only: mTLS, plaintext, passthrough and blackhole", () => {
    const push = smallPush(GATEWAY);
    const withMx = (proxy: ProxyInfo): string[] => chainsOf(push, proxy).filter((c) => names(networkFilters(c)).includes("istio.metadata_exchange")).map((c) => `${c.listener}/${String(c.chain.name)}/${c.chain.transport_socket ? "tls" : "plain"}`);
    expect(withMx(mongoProxy())).toEqual(
      expect.arrayContaining(["virtualInbound/virtualInbound-blackhole/plain", "virtualInbound/0.0.0.0_27017/tls", "virtualInbound/0.0.0.0_27017/plain", "virtualInbound/virtualInbound/tls", "virtualInbound/virtualInbound/plain"]),
    );
    for (const proxy of [productpageProxy(), mongoProxy()]) for (const c of tcpChains(push, proxy)) expect(names(networkFilters(c)).includes("istio.metadata_exchange")).toBe(c.direction === "INBOUND");
    // HTTP chains exchange in headers; gateways' TCP chains get none (istiod: only ISTIO_MUTUAL TLS servers).
    for (const c of httpChains(push, mongoProxy())) expect(names(networkFilters(c))).toEqual([HCM]);
    for (const c of chainsOf(push, gatewayProxy())) expect(names(networkFilters(c))).not.toContain("istio.metadata_exchange");
  });
});

describe("gateways", () => {
  const push = smallPush(GATEWAY);
  const chains = chainsOf(push, gatewayProxy());

  it("HTTP: upstream peer metadata first, istio.stats without Host fallback before the router", () => {
    const http = chains.filter((c) => hcmOf(c));
    expect(http.map((c) => c.listener)).toEqual(["0.0.0.0_80"]);
    const filters = httpFilters(http[0]!);
    expect(names(filters)).toEqual(["istio.metadata_exchange", "istio.alpn", "envoy.filters.http.fault", "envoy.filters.http.cors", "istio.stats", "envoy.filters.http.router"]);
    expect(filters[0]).toEqual(OUTBOUND_MX);
    expect(filters[4]).toEqual(GATEWAY_STATS);
  });

  it("TCP: istio.stats before tcp_proxy", () => {
    const tcp = chains.filter((c) => c.listener === "0.0.0.0_27017");
    expect(tcp).toHaveLength(1);
    expect(networkFilters(tcp[0]!)[0]).toEqual(GATEWAY_STATS);
    expect(names(networkFilters(tcp[0]!))).toEqual(["istio.stats", TCP_PROXY]);
  });
});

describe("what istiod emits (sidecar-configdump-authz.yaml)", () => {
  const push = smallPush();
  const dumpChains = (listener: string): Chain[] => {
    const l = authzDumpListener(listener);
    return (l.filter_chains as JsonObject[]).map((chain) => ({ listener, direction: String(l.traffic_direction), chain }));
  };
  const dumpStats = (c: Chain): JsonObject[] => [...networkFilters(c), ...(hcmOf(c) ? httpFilters(c) : [])].filter((f) => f.name === "istio.stats");
  const ours = chainsOf(push, productpageProxy());

  it.each([
    ["virtualInbound", "virtualInbound"],
    ["virtualInbound", "virtualInbound-blackhole"],
    ["virtualInbound", "virtualInbound-catchall-http"],
    ["virtualOutbound", "virtualOutbound-blackhole"],
    ["virtualOutbound", "virtualOutbound-catchall-tcp"],
  ])("%s chain %s has istiod's istio.stats", (listener, chain) => {
    const expected = dumpChains(listener).filter((c) => c.chain.name === chain).flatMap(dumpStats);
    const actual = ours.filter((c) => c.listener === listener && c.chain.name === chain).flatMap(dumpStats);
    expect(expected.length).toBeGreaterThan(0);
    expect(actual.length).toBeGreaterThan(0);
    for (const f of actual) expect(f).toEqual(expected[0]);
  });

  it("outbound HTTP: istiod's istio.stats and its order among the filters Weft emits", () => {
    const [dump] = dumpChains("0.0.0.0_9080");
    const [mine] = ours.filter((c) => c.listener === "0.0.0.0_9080");
    const emitted = new Set(names(httpFilters(mine!)));
    expect(names(httpFilters(dump!)).filter((n) => emitted.has(n))).toEqual(names(httpFilters(mine!)));
    expect(dumpStats(mine!)).toEqual(dumpStats(dump!));
  });

  it("inbound HTTP: istiod's istio.stats and its order among the filters Weft emits", () => {
    const dump = dumpChains("virtualInbound").find((c) => c.chain.name === "0.0.0.0_80")!;
    const mine = ours.find((c) => c.chain.name === "0.0.0.0_9080")!;
    const emitted = new Set(names(httpFilters(mine)));
    expect(names(httpFilters(dump)).filter((n) => emitted.has(n))).toEqual(names(httpFilters(mine)));
    expect(dumpStats(mine)).toEqual(dumpStats(dump));
  });
});

describe("the Telemetry API's metrics overrides", () => {
  it("a root-namespace Telemetry disabling prometheus removes every istio.stats, and keeps peer metadata", () => {
    const push = smallPush(`${GATEWAY}${telemetry("istio-system", "mesh-default", DISABLE_ALL)}`);
    for (const proxy of [productpageProxy(), mongoProxy(), gatewayProxy(), explicitProxy()]) {
      expect(statsFilters(push, proxy)).toEqual([]);
      for (const c of httpChains(push, proxy)) expect(httpFilters(c)[0]!.name).toBe("istio.metadata_exchange");
    }
    expect(validationIssues(generate(push, productpageProxy(), TypeUrl.Listener))).toEqual([]);
  });

  it("a namespace Telemetry overrides the root's, both ways", () => {
    const reEnabled = smallPush(`${telemetry("istio-system", "mesh-default", DISABLE_ALL)}${telemetry("default", "ns", `{ metrics: [{ overrides: [{ match: { metric: ALL_METRICS }, disabled: false }] }] }`)}`);
    expect(statsFilters(reEnabled, productpageProxy()).length).toBeGreaterThan(0);
    const off = smallPush(telemetry("default", "ns", DISABLE_ALL));
    expect(statsFilters(off, productpageProxy())).toEqual([]);
    // The TCP exchange stays: it follows the istio-peer-exchange ALPN the mesh's TLS offers, not the metrics
    // (a side that negotiated it without the filter would hand the other side's exchange bytes to its app).
    for (const c of tcpChains(off, mongoProxy())) expect(names(networkFilters(c))[0]).toBe(c.direction === "INBOUND" ? "istio.metadata_exchange" : TCP_PROXY);
    expect(json(off, productpageProxy(), "Cluster").filter((c) => c.filters !== undefined).map((c) => c.name)).toEqual(["outbound|27017||mongo.default.svc.cluster.local"]);
    // Another namespace's Telemetry doesn't reach default.
    expect(statsFilters(smallPush(telemetry("other", "ns", DISABLE_ALL)), productpageProxy()).length).toBeGreaterThan(0);
  });

  it("a SERVER-mode override turns off inbound (server) metrics only", () => {
    const push = smallPush(telemetry("default", "ns", `{ metrics: [{ providers: [{ name: prometheus }], overrides: [{ match: { mode: SERVER }, disabled: true }] }] }`));
    const chains = chainsOf(push, productpageProxy());
    const statsIn = (dir: string): number =>
      chains.filter((c) => c.direction === dir).flatMap((c) => [...networkFilters(c), ...(hcmOf(c) ? httpFilters(c) : [])]).filter((f) => f.name === "istio.stats").length;
    expect(statsIn("INBOUND")).toBe(0);
    expect(statsIn("OUTBOUND")).toBeGreaterThan(0);
  });

  it("a workload-selected Telemetry applies to matching workloads only (outbound listeners are not shared across)", () => {
    const push = smallPush(telemetry("default", "productpage-quiet", `{ selector: { matchLabels: { app: productpage } }, ${DISABLE_ALL.slice(1)}`));
    expect(statsFilters(push, productpageProxy())).toEqual([]);
    expect(statsFilters(push, reviewsProxy()).length).toBeGreaterThan(0);
    const reviewsOutbound = tcpChains(push, reviewsProxy()).find((c) => c.listener === "10.96.0.12_27017")!;
    expect(networkFilters(reviewsOutbound)[0]).toEqual(OUTBOUND_STATS);
  });

  it("switching metrics to another provider turns prometheus (istio.stats) off", () => {
    const push = smallPush(telemetry("istio-system", "mesh-default", `{ metrics: [{ providers: [{ name: stackdriver }] }] }`));
    expect(statsFilters(push, productpageProxy())).toEqual([]);
  });

  it("disables a gateway's istio.stats through its namespace's Telemetry", () => {
    const push = smallPush(`${GATEWAY}${telemetry("istio-system", "gw", `{ selector: { matchLabels: { istio: ingressgateway } }, ${DISABLE_ALL.slice(1)}`)}`);
    expect(statsFilters(push, gatewayProxy())).toEqual([]);
    expect(statsFilters(push, productpageProxy()).length).toBeGreaterThan(0);
  });
});

describe("istio.metadata_exchange on outbound clusters (istiod's TCPClusterMx)", () => {
  const withFilters = (push: Push, proxy: ProxyInfo): string[] => json(push, proxy, "Cluster").filter((c) => c.filters !== undefined).map((c) => String(c.name));

  it("is on TCP clusters towards mesh mTLS (auto mTLS or ISTIO_MUTUAL), whose TLS context offers istio-peer-exchange", () => {
    const push = smallPush();
    expect(withFilters(push, productpageProxy())).toEqual(["outbound|27017||mongo.default.svc.cluster.local"]);
    const mongo = json(push, productpageProxy(), "Cluster").find((c) => c.name === "outbound|27017||mongo.default.svc.cluster.local")!;
    expect(mongo.filters).toEqual([TCP_MX]);
    expect(JSON.stringify(mongo.transport_socket_matches)).toContain('"alpn_protocols":["istio-peer-exchange","istio"]');
    const istioMutual = smallPush(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: mongo, namespace: default }
spec: { host: mongo, trafficPolicy: { tls: { mode: ISTIO_MUTUAL } }, subsets: [{ name: a, labels: { app: mongo } }] }
`);
    expect(withFilters(istioMutual, productpageProxy())).toEqual(["outbound|27017||mongo.default.svc.cluster.local", "outbound|27017|a|mongo.default.svc.cluster.local"]);
  });

  it("is not on HTTP clusters, plaintext (DISABLE) or TLS-origination (SIMPLE) ones, nor for proxyless gRPC", () => {
    const tlsMode = (mode: string) =>
      smallPush(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: mongo, namespace: default }
spec: { host: mongo, trafficPolicy: { tls: { mode: ${mode} } } }
`);
    expect(withFilters(tlsMode("DISABLE"), productpageProxy())).toEqual([]);
    expect(withFilters(tlsMode("SIMPLE"), productpageProxy())).toEqual([]);
    const grpc = proxyOf({ ip: "10.1.0.9", pod: "grpc-client", namespace: "default", labels: { app: "g" }, extra: { GENERATOR: "grpc" } });
    expect(withFilters(smallPush(), grpc)).toEqual([]);
  });
});

describe("proxyless gRPC", () => {
  it("gets none of these filters (grpc-js-xds NACKs HTTP filters it does not know, and istiod sends them to Envoy only)", () => {
    const push = smallPush();
    const client = proxyOf({ ip: "10.9.0.1", pod: "client", namespace: "default", generator: "grpc" });
    const listeners = json(push, client, "Listener");
    expect(listeners.length).toBeGreaterThan(0);
    expect(JSON.stringify(listeners)).not.toMatch(/istio\.(stats|metadata_exchange)/);
  });
});

describe("validation through @weft/xds-api", () => {
  it.each([
    ["sidecar", smallPush(), productpageProxy()],
    ["sidecar with a TCP inbound port and RBAC", smallPush(`apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: mongo, namespace: default }
spec: { selector: { matchLabels: { app: mongo } }, rules: [{ to: [{ operation: { ports: ["27017"] } }] }] }
`), mongoProxy()],
    ["gateway", smallPush(GATEWAY), gatewayProxy()],
    ["explicit mode", smallPush(), explicitProxy()],
  ])("%s listeners validate, telemetry filters' typed configs included", (_name, push, proxy) => {
    const listeners = generate(push, proxy, TypeUrl.Listener);
    expect(statsFilters(push, proxy).length).toBeGreaterThan(0);
    expect(validationIssues(listeners)).toEqual([]);
  });

  it("would report an istio.stats config of a type it does not know, or one that does not decode", () => {
    const [mongo] = generate(smallPush(), productpageProxy(), TypeUrl.Listener, ["10.96.0.12_27017"]);
    // The listener with its istio.stats filter's typed_config replaced.
    const withStatsConfig = (r: XdsResource, typeUrl: string, value: Uint8Array): XdsResource => {
      const listener = unpackAny(r.resource, ListenerSchema);
      const stats = listener.filterChains[0]!.filters.find((f) => f.name === "istio.stats")!;
      stats.configType = { case: "typedConfig", value: create(AnySchema, { typeUrl, value }) };
      return messageResource(ListenerSchema, r.name, listener);
    };
    expect(validationIssues([mongo!])).toEqual([]);
    expect(validationIssues([withStatsConfig(mongo!, "type.googleapis.com/stats.NotAConfig", new Uint8Array())]).join("\n")).toMatch(/any\.known/);
    expect(validationIssues([withStatsConfig(mongo!, "type.googleapis.com/stats.PluginConfig", new Uint8Array([0xff, 0xff, 0xff]))]).join("\n")).toMatch(/any\.decode/);
  });
});
