// EDS: one ClusterLoadAssignment per EDS cluster, endpoints filtered by the
// subset's labels and grouped by locality (region/zone/subzone), with Istio's
// endpoint metadata. Unready endpoints are left out, as Kubernetes leaves them
// out of a Service (and istiod does unless PILOT_SEND_UNHEALTHY_ENDPOINTS).
import type { JsonObject } from "@bufbuild/protobuf";
import { ClusterLoadAssignmentSchema } from "@weft/xds-api/gen/envoy/config/endpoint/v3/endpoint_pb.js";
import type { ProxyInfo, XdsResource } from "../contracts.js";
import { matchLabels } from "../model/labels.js";
import type { MeshService } from "../model/types.js";
import type { MeshPushContext } from "../push-context/push-context.js";
import { outboundName, subsetLabels, subsetsOf } from "./cds.js";
import { socketAddress } from "./envoy-json.js";
import { toResource } from "./resource.js";

export function localityGroups(svc: MeshService, port: number, labels: Record<string, string> | undefined): JsonObject[] {
  const groups = new Map<string, { locality: JsonObject; endpoints: JsonObject[]; weight: number }>();
  for (const e of svc.endpoints) {
    if (e.servicePort !== port || !e.healthy) continue;
    if (labels && !matchLabels(labels, e.labels)) continue;
    const key = `${e.locality.region}/${e.locality.zone}/${e.locality.subzone}`;
    let g = groups.get(key);
    if (!g) {
      const locality: JsonObject = {};
      if (e.locality.region) locality.region = e.locality.region;
      if (e.locality.zone) locality.zone = e.locality.zone;
      if (e.locality.subzone) locality.sub_zone = e.locality.subzone;
      g = { locality, endpoints: [], weight: 0 };
      groups.set(key, g);
    }
    const lb: JsonObject = { endpoint: { address: socketAddress(e.address, e.port) }, health_status: "HEALTHY", load_balancing_weight: e.weight };
    // Auto mTLS: the cluster's transport_socket_matches pick TLS for endpoints labelled tlsMode=istio (istiod's EDS metadata).
    const fm: JsonObject = e.tlsMode ? { "envoy.transport_socket_match": { tlsMode: e.tlsMode } } : {};
    if (e.workload) fm.istio = { workload: e.workload };
    if (Object.keys(fm).length > 0) lb.metadata = { filter_metadata: fm };
    g.endpoints.push(lb);
    g.weight += e.weight;
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, g]) => ({ locality: g.locality, lb_endpoints: g.endpoints, load_balancing_weight: g.weight }));
}

/** The CLA for one `outbound|port|subset|host` name as seen from `namespace`, or undefined when no such cluster exists. */
export function loadAssignment(push: MeshPushContext, namespace: string, clusterName: string): XdsResource | undefined {
  const parts = clusterName.split("|");
  if (parts.length !== 4 || parts[0] !== "outbound") return undefined;
  const [, portText, subset, host] = parts;
  const port = Number(portText);
  const svc = push.service(host, namespace);
  if (!svc || svc.resolution !== "EDS" || !svc.ports.some((p) => p.port === port)) return undefined;
  const dr = push.destinationRule(namespace, svc);
  if (subset && !subsetsOf(dr).some((s) => s.name === subset)) return undefined;
  const key = `eds|${clusterName}|${svc.namespace}|${dr ? `${dr.namespace}/${dr.name}` : ""}`;
  const cached = push.cache.get(key) as XdsResource | undefined;
  if (cached) return cached;
  const resource = toResource(ClusterLoadAssignmentSchema, clusterName, {
    cluster_name: clusterName,
    endpoints: localityGroups(svc, port, subsetLabels(dr, subset)),
  });
  push.cache.set(key, resource);
  return resource;
}

export function generateEndpoints(push: MeshPushContext, proxy: ProxyInfo, names?: readonly string[]): XdsResource[] {
  if (!names) {
    const scope = push.scope(proxy);
    const key = `eds-all|${scope.scopeKey}`;
    const cached = push.cache.get(key) as XdsResource[] | undefined;
    if (cached) return cached;
    const all: string[] = [];
    for (const svc of scope.services) {
      if (svc.resolution !== "EDS") continue;
      const dr = push.destinationRule(proxy.namespace, svc);
      for (const p of svc.ports) {
        if (p.protocol === "UDP") continue;
        all.push(outboundName(p.port, "", svc.hostname));
        for (const s of subsetsOf(dr)) all.push(outboundName(p.port, s.name, svc.hostname));
      }
    }
    const out = resolve(push, proxy, all);
    push.cache.set(key, out);
    return out;
  }
  return resolve(push, proxy, names);
}

function resolve(push: MeshPushContext, proxy: ProxyInfo, names: readonly string[]): XdsResource[] {
  const out: XdsResource[] = [];
  for (const name of names) {
    const r = loadAssignment(push, proxy.namespace, name);
    if (r) out.push(r);
  }
  return out;
}
