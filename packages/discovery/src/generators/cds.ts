// CDS, as istiod's cluster builder names and shapes it:
// `outbound|<port>|<subset>|<fqdn>` per visible service port and DestinationRule
// subset (EDS for registry services and STATIC ServiceEntries, STRICT_DNS for
// DNS ServiceEntries, ORIGINAL_DST for resolution NONE / headless),
// `inbound|<port>||` per port of the services selecting the proxy, and the
// BlackHoleCluster, PassthroughCluster and InboundPassthroughCluster.
import type { JsonObject } from "@bufbuild/protobuf";
import { ClusterSchema } from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb.js";
import type { ProxyInfo, XdsResource } from "../contracts.js";
import { isHttp, isHttp2 } from "../model/protocol.js";
import type { MeshService, ServicePort } from "../model/types.js";
import { durationJson } from "../source/duration.js";
import { isObject } from "../source/field-checker.js";
import type { IstioConfig } from "../push-context/istio-config.js";
import type { MeshPushContext } from "../push-context/push-context.js";
import { ADS_CONFIG_SOURCE, DEFAULT_THRESHOLDS, socketAddress } from "./envoy-json.js";
import { inboundPorts } from "./inbound-ports.js";
import { appAddress, isExplicitMode } from "./explicit-mode.js";
import { localityGroups } from "./eds.js";
import { toResource } from "./resource.js";
import { clusterPolicyFields, effectivePolicy } from "./traffic-policy.js";
import { upstreamTlsFields } from "../security/upstream-tls.js";
import { TCP_MX_FILTER } from "./telemetry-filters.js";

export const BLACKHOLE = "BlackHoleCluster";
export const PASSTHROUGH = "PassthroughCluster";
export const INBOUND_PASSTHROUGH = "InboundPassthroughCluster";

export function outboundName(port: number, subset: string, host: string): string {
  return `${"outbound"}|${port}|${subset}|${host}`;
}

export function subsetsOf(dr: IstioConfig | undefined): Array<{ name: string; labels: Record<string, string> }> {
  if (!dr || !Array.isArray(dr.spec.subsets)) return [];
  return dr.spec.subsets.filter(isObject).map((s) => ({ name: String(s.name), labels: (isObject(s.labels) ? s.labels : {}) as Record<string, string> }));
}

/** Envoy's HttpProtocolOptions that follow the downstream protocol (Istio's passthrough clusters). */
const DOWNSTREAM_PROTOCOL: JsonObject = {
  "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
    "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
    use_downstream_protocol_config: { http_protocol_options: {}, http2_protocol_options: {} },
  },
};

function outboundCluster(push: MeshPushContext, svc: MeshService, port: ServicePort, subset: string, dr: IstioConfig | undefined, grpc: boolean): XdsResource {
  const name = outboundName(port.port, subset, svc.hostname);
  const key = `cds|${name}|${dr ? `${dr.namespace}/${dr.name}` : ""}|${grpc ? "g" : "s"}`;
  const cached = push.cache.get(key) as XdsResource | undefined;
  if (cached) return cached;
  const policy = effectivePolicy(dr?.spec, subset || undefined, port.port);
  const json: JsonObject = {
    name,
    ...clusterPolicyFields(policy, { connectTimeoutMs: push.options.connectTimeoutMs, http2: isHttp2(port.protocol), grpc }),
  };
  if (svc.resolution === "EDS") {
    json.type = "EDS";
    json.eds_cluster_config = { eds_config: grpc ? { ads: {}, resource_api_version: "V3" } : ADS_CONFIG_SOURCE, service_name: name };
  } else if (svc.resolution === "DNS" || svc.resolution === "DNS_ROUND_ROBIN") {
    // DNS_ROUND_ROBIN: one connection target at a time from the answer (LOGICAL_DNS), as istiod.
    json.type = svc.resolution === "DNS" ? "STRICT_DNS" : "LOGICAL_DNS";
    json.dns_lookup_family = "V4_ONLY";
    json.respect_dns_ttl = true;
    json.load_assignment = { cluster_name: name, endpoints: localityGroups(svc, port.port, subsetLabels(dr, subset)) };
  } else {
    json.type = "ORIGINAL_DST";
    json.lb_policy = "CLUSTER_PROVIDED";
    delete json.ring_hash_lb_config;
  }
  if (!grpc) {
    const meta: JsonObject = { default_original_port: port.port, services: [{ host: svc.hostname, name: svc.name, namespace: svc.namespace }] };
    if (dr) meta.config = dr.configPath;
    if (subset) meta.subset = subset;
    json.metadata = { filter_metadata: { istio: meta } };
    const tls = upstreamTlsFields(push, { svc, port, subset, policy, http2: isHttp2(port.protocol) });
    Object.assign(json, tls);
    // istiod's TCPClusterMx: the in-band metadata exchange with a TCP upstream reached over mesh mTLS (auto or ISTIO_MUTUAL),
    // whose TLS context offers istio-peer-exchange: without the filter the upstream's exchange bytes would reach the app.
    if (!isHttp(port.protocol) && (tls.transport_socket_matches !== undefined || (isObject(policy.tls) && policy.tls.mode === "ISTIO_MUTUAL"))) json.filters = [TCP_MX_FILTER];
  }
  const resource = toResource(ClusterSchema, name, json);
  push.cache.set(key, resource);
  return resource;
}

export function subsetLabels(dr: IstioConfig | undefined, subset: string): Record<string, string> | undefined {
  if (!subset) return undefined;
  return subsetsOf(dr).find((s) => s.name === subset)?.labels ?? { "weft.dev/missing-subset": subset };
}

/** Every outbound cluster of the proxy's visible services. */
export function outboundClusters(push: MeshPushContext, proxy: ProxyInfo, grpc = false): XdsResource[] {
  const scope = push.scope(proxy);
  const key = `cds-out|${scope.scopeKey}|${grpc}`;
  const cached = push.cache.get(key) as XdsResource[] | undefined;
  if (cached) return cached;
  const out: XdsResource[] = [];
  for (const svc of scope.services) {
    // gRPC's xDS client only resolves through EDS (IP endpoints): DNS and passthrough services are for Envoy.
    if (grpc && svc.resolution !== "EDS") continue;
    const dr = push.destinationRule(proxy.namespace, svc);
    for (const port of svc.ports) {
      if (port.protocol === "UDP") continue;
      out.push(outboundCluster(push, svc, port, "", dr, grpc));
      for (const s of subsetsOf(dr)) out.push(outboundCluster(push, svc, port, s.name, dr, grpc));
    }
  }
  push.cache.set(key, out);
  return out;
}

function inboundCluster(push: MeshPushContext, port: number, http2: boolean, services: MeshService[], explicitAppAddress?: string): XdsResource {
  const name = `inbound|${port}||`;
  const json: JsonObject = {
    name,
    connect_timeout: durationJson(push.options.connectTimeoutMs),
    circuit_breakers: { thresholds: [DEFAULT_THRESHOLDS] },
    metadata: { filter_metadata: { istio: { services: services.map((s) => ({ host: s.hostname, name: s.name, namespace: s.namespace })) } } },
  };
  if (push.options.inboundCluster === "STATIC" || explicitAppAddress) {
    // Explicit mode: no original destination; the app listens on its own address.
    json.type = "STATIC";
    json.load_assignment = { cluster_name: name, endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(explicitAppAddress ?? "127.0.0.1", port) } }] }] };
  } else {
    // Istio ≥ 1.10: to the original destination (the pod IP), from 127.0.0.6
    // so the capture rules return it (ISTIO_OUTPUT's `-s 127.0.0.6 -o lo`).
    json.type = "ORIGINAL_DST";
    json.lb_policy = "CLUSTER_PROVIDED";
    json.upstream_bind_config = { source_address: { address: "127.0.0.6", port_value: 0 } };
  }
  if (http2) {
    json.typed_extension_protocol_options = {
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        explicit_http_config: { http2_protocol_options: {} },
      },
    };
  }
  return toResource(ClusterSchema, name, json);
}

function specialClusters(push: MeshPushContext): XdsResource[] {
  const key = "cds|special";
  const cached = push.cache.get(key) as XdsResource[] | undefined;
  if (cached) return cached;
  const timeout = durationJson(push.options.connectTimeoutMs);
  const list = [
    toResource(ClusterSchema, BLACKHOLE, { name: BLACKHOLE, type: "STATIC", connect_timeout: timeout }),
    toResource(ClusterSchema, PASSTHROUGH, {
      name: PASSTHROUGH,
      type: "ORIGINAL_DST",
      connect_timeout: timeout,
      lb_policy: "CLUSTER_PROVIDED",
      circuit_breakers: { thresholds: [DEFAULT_THRESHOLDS] },
      typed_extension_protocol_options: DOWNSTREAM_PROTOCOL,
    }),
    toResource(ClusterSchema, INBOUND_PASSTHROUGH, {
      name: INBOUND_PASSTHROUGH,
      type: "ORIGINAL_DST",
      connect_timeout: timeout,
      lb_policy: "CLUSTER_PROVIDED",
      circuit_breakers: { thresholds: [DEFAULT_THRESHOLDS] },
      upstream_bind_config: { source_address: { address: "127.0.0.6", port_value: 0 } },
      typed_extension_protocol_options: DOWNSTREAM_PROTOCOL,
    }),
  ];
  push.cache.set(key, list);
  return list;
}

export function generateClusters(push: MeshPushContext, proxy: ProxyInfo): XdsResource[] {
  if (proxy.generator === "grpc") return outboundClusters(push, proxy, true);
  const out = [...outboundClusters(push, proxy)];
  if (proxy.type === "sidecar") {
    const app = isExplicitMode(proxy) ? appAddress(proxy) : undefined;
    for (const p of inboundPorts(push, proxy)) out.push(inboundCluster(push, p.port, isHttp2(p.protocol), p.services, app));
    out.push(...specialClusters(push));
  } else {
    out.push(...specialClusters(push).filter((r) => r.name !== INBOUND_PASSTHROUGH));
  }
  return out;
}
