import { unpackAny } from "@weft/xds-api";
import type { Any } from "@bufbuild/protobuf/wkt";
import { ClusterSchema, type Cluster } from "@weft/xds-api/gen/envoy/config/cluster/v3/cluster_pb.js";
import { ListenerSchema, type Listener } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema, type RouteConfiguration } from "@weft/xds-api/gen/envoy/config/route/v3/route_pb.js";
import { ClusterLoadAssignmentSchema, type ClusterLoadAssignment } from "@weft/xds-api/gen/envoy/config/endpoint/v3/endpoint_pb.js";
import { SecretSchema, type Secret } from "@weft/xds-api/gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import type { ConfigDumpSections } from "./config-dump.js";

function unpackAll<T>(anys: ReadonlyArray<Any | undefined>, schema: Parameters<typeof unpackAny>[1]): T[] {
  return anys.filter((a): a is Any => a !== undefined).map((a) => unpackAny(a, schema) as T);
}

/** Static and active dynamic clusters, in the dump's order. */
export function clustersOf(s: ConfigDumpSections): Cluster[] {
  const c = s.clusters;
  if (!c) return [];
  return unpackAll<Cluster>([...c.staticClusters.map((x) => x.cluster), ...c.dynamicActiveClusters.map((x) => x.cluster)], ClusterSchema);
}

export function listenersOf(s: ConfigDumpSections): Listener[] {
  const l = s.listeners;
  if (!l) return [];
  return unpackAll<Listener>([...l.staticListeners.map((x) => x.listener), ...l.dynamicListeners.map((x) => x.activeState?.listener)], ListenerSchema);
}

export function routesOf(s: ConfigDumpSections): RouteConfiguration[] {
  const r = s.routes;
  if (!r) return [];
  return unpackAll<RouteConfiguration>([...r.staticRouteConfigs.map((x) => x.routeConfig), ...r.dynamicRouteConfigs.map((x) => x.routeConfig)], RouteConfigurationSchema);
}

export function endpointsOf(s: ConfigDumpSections): ClusterLoadAssignment[] {
  const e = s.endpoints;
  if (!e) return [];
  return unpackAll<ClusterLoadAssignment>([...e.staticEndpointConfigs.map((x) => x.endpointConfig), ...e.dynamicEndpointConfigs.map((x) => x.endpointConfig)], ClusterLoadAssignmentSchema);
}

export function secretsOf(s: ConfigDumpSections): Array<{ name: string; secret?: Secret; active: boolean }> {
  const sec = s.secrets;
  if (!sec) return [];
  return [
    ...sec.staticSecrets.map((x) => ({ name: x.name, secret: x.secret ? (unpackAny(x.secret, SecretSchema) as Secret) : undefined, active: true })),
    ...sec.dynamicActiveSecrets.map((x) => ({ name: x.name, secret: x.secret ? (unpackAny(x.secret, SecretSchema) as Secret) : undefined, active: true })),
    ...sec.dynamicWarmingSecrets.map((x) => ({ name: x.name, secret: x.secret ? (unpackAny(x.secret, SecretSchema) as Secret) : undefined, active: false })),
  ];
}
