// The EnvoyFilter vocabulary (networking.istio.io/v1alpha3 EnvoyFilter) and
// the compiled form the appliers work from: one EnvoyFilterPatch per
// configPatches[] entry, its value already in canonical Envoy JSON (proto
// field names, as toEnvoyJson writes the generated resources), so a patch and
// the resource it patches have the same shape.
import type { JsonObject } from "@bufbuild/protobuf";

export const APPLY_TO = [
  "LISTENER",
  "FILTER_CHAIN",
  "NETWORK_FILTER",
  "HTTP_FILTER",
  "ROUTE_CONFIGURATION",
  "VIRTUAL_HOST",
  "HTTP_ROUTE",
  "CLUSTER",
  "EXTENSION_CONFIG",
  "BOOTSTRAP",
  "LISTENER_FILTER",
] as const;
export type ApplyTo = (typeof APPLY_TO)[number];

/** What Weft applies; the rest are accepted, reported as not supported and skipped. */
export const SUPPORTED_APPLY_TO: ReadonlySet<ApplyTo> = new Set(["LISTENER", "LISTENER_FILTER", "FILTER_CHAIN", "NETWORK_FILTER", "HTTP_FILTER", "ROUTE_CONFIGURATION", "VIRTUAL_HOST", "HTTP_ROUTE", "CLUSTER"]);

export const OPERATIONS = ["MERGE", "ADD", "REMOVE", "INSERT_BEFORE", "INSERT_AFTER", "INSERT_FIRST", "REPLACE"] as const;
export type Operation = (typeof OPERATIONS)[number];

export const CONTEXTS = ["ANY", "SIDECAR_INBOUND", "SIDECAR_OUTBOUND", "GATEWAY"] as const;
export type PatchContext = (typeof CONTEXTS)[number];

export const ROUTE_ACTIONS = ["ANY", "ROUTE", "REDIRECT", "DIRECT_RESPONSE"] as const;
export const FILTER_CLASSES = ["UNSPECIFIED", "AUTHN", "AUTHZ", "STATS"] as const;

export interface ListenerMatch {
  portNumber?: number;
  name?: string;
  listenerFilter?: string;
  filterChain?: {
    name?: string;
    sni?: string;
    transportProtocol?: string;
    applicationProtocols?: string;
    destinationPort?: number;
    filter?: { name: string; subFilter?: { name: string } };
  };
}

export interface RouteConfigurationMatch {
  portNumber?: number;
  portName?: string;
  gateway?: string;
  name?: string;
  vhost?: { name?: string; domainName?: string; route?: { name?: string; action?: (typeof ROUTE_ACTIONS)[number] } };
}

export interface ClusterMatch {
  portNumber?: number;
  service?: string;
  subset?: string;
  name?: string;
}

/** The EnvoyFilter a patch came from, for ordering and for every message about it. */
export interface EnvoyFilterRef {
  namespace: string;
  name: string;
  /** `EnvoyFilter ns/name`, as ConfigError.object. */
  label: string;
  origin: string;
}

export interface EnvoyFilterPatch {
  source: EnvoyFilterRef;
  /** Index in spec.configPatches, for messages. */
  index: number;
  applyTo: ApplyTo;
  operation: Operation;
  context: PatchContext;
  proxy?: { version?: string; metadata: Readonly<Record<string, string>> };
  listener?: ListenerMatch;
  routeConfiguration?: RouteConfigurationMatch;
  cluster?: ClusterMatch;
  /** Canonical Envoy JSON of the applyTo's message (absent for REMOVE). */
  value?: JsonObject;
  /** Istio's deprecated `config` Struct, typed when the filter it merges into is found. */
  rawConfig?: JsonObject;
}

/** The patches that apply to one proxy, in istiod's order, grouped by applyTo. */
export type PatchSet = ReadonlyMap<ApplyTo, readonly EnvoyFilterPatch[]>;

/** The listener/cluster/route class a resource is generated for (istiod's patch context). */
export type ResourceContext = Exclude<PatchContext, "ANY">;

export function contextMatches(p: EnvoyFilterPatch, ctx: ResourceContext): boolean {
  return p.context === "ANY" || p.context === ctx;
}
