import type { DescMessage } from "@bufbuild/protobuf";

const PREFIX = "type.googleapis.com/";

/** The type URL of a message, as xDS and `Any` carry it. */
export function typeUrlOf(schema: DescMessage | string): string {
  return PREFIX + (typeof schema === "string" ? schema : schema.typeName);
}

/** The message name a type URL names (`type.googleapis.com/x.y.Z` → `x.y.Z`). */
export function typeNameOf(typeUrl: string): string {
  const slash = typeUrl.lastIndexOf("/");
  return slash >= 0 ? typeUrl.slice(slash + 1) : typeUrl;
}

/** The xDS resource types, by the short names Envoy and Istio use (LDS, RDS…). */
export const TypeUrl = {
  Listener: PREFIX + "envoy.config.listener.v3.Listener",
  RouteConfiguration: PREFIX + "envoy.config.route.v3.RouteConfiguration",
  ScopedRouteConfiguration: PREFIX + "envoy.config.route.v3.ScopedRouteConfiguration",
  VirtualHost: PREFIX + "envoy.config.route.v3.VirtualHost",
  Cluster: PREFIX + "envoy.config.cluster.v3.Cluster",
  ClusterLoadAssignment: PREFIX + "envoy.config.endpoint.v3.ClusterLoadAssignment",
  Secret: PREFIX + "envoy.extensions.transport_sockets.tls.v3.Secret",
  Runtime: PREFIX + "envoy.service.runtime.v3.Runtime",
} as const;

export type XdsTypeUrl = (typeof TypeUrl)[keyof typeof TypeUrl];

/** Short names for logs, debug pages and metrics labels (Istio's `type` label). */
export const TYPE_SHORT_NAME: Readonly<Record<string, string>> = {
  [TypeUrl.Listener]: "LDS",
  [TypeUrl.RouteConfiguration]: "RDS",
  [TypeUrl.Cluster]: "CDS",
  [TypeUrl.ClusterLoadAssignment]: "EDS",
  [TypeUrl.Secret]: "SDS",
  [TypeUrl.ScopedRouteConfiguration]: "SRDS",
  [TypeUrl.VirtualHost]: "VHDS",
  [TypeUrl.Runtime]: "RTDS",
};

/** The order Envoy applies config in, make-before-break: CDS → EDS → LDS → RDS, then the rest. */
export const PUSH_ORDER: readonly string[] = [
  TypeUrl.Cluster,
  TypeUrl.ClusterLoadAssignment,
  TypeUrl.Listener,
  TypeUrl.RouteConfiguration,
  TypeUrl.Secret,
];
