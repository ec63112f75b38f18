// The small HTTP filter interface: a factory per config type URL builds one
// filter per HCM at compile time; per-route configs (typed_per_filter_config)
// are compiled by the same factory when route configs are compiled.
import type { Any } from "@bufbuild/protobuf/wkt";
import type { RequestContext } from "./request-context.js";
import type { LocalReply } from "./local-reply.js";
import type { StatsStore } from "../contracts.js";
import type { Cluster } from "../upstream/cluster.js";

/** Runtime services for filters that count stats or call clusters (rbac, jwt_authn, ext_authz). */
export interface FilterRuntimeDeps {
  stats: StatsStore;
  logger: import("pino").Logger;
  /** Late-bound: the cluster by name at request time. */
  cluster(name: string): Cluster | undefined;
  /** The bootstrap's node: its id and metadata as JSON (Istio's telemetry filters read who this proxy is); `cluster` is node.cluster (rate limits' source_cluster). */
  node?: { id: string; metadata: import("@bufbuild/protobuf").JsonObject; cluster?: string };
}

export interface CompileContext {
  resource: string;
  field: string;
  report(field: string, detail?: string): void;
  /** Absent when compiling without a runtime (unit tests); filters fall back to no-op stats. */
  runtime?: FilterRuntimeDeps;
  /** The HCM's stat_prefix (HCM-level filters only), for `http.<prefix>.<filter>.*` stats. */
  statPrefix?: string;
  /** The listener's traffic_direction (Istio's stats filter picks its reporter from it). */
  direction?: TrafficDirection;
}

export type TrafficDirection = "UNSPECIFIED" | "INBOUND" | "OUTBOUND";

export interface HttpFilter {
  /** The HCM's name for this filter (`envoy.filters.http.fault`); keys typed_per_filter_config. */
  readonly name: string;
  /** Request headers: continue (undefined), reply locally, or wait (fault delay). */
  decodeHeaders?(ctx: RequestContext): LocalReply | undefined | Promise<LocalReply | undefined>;
  /** Response headers on their way downstream (upstream or local replies). */
  encodeHeaders?(ctx: RequestContext, status: number, headers: Record<string, string | string[] | undefined>): void;
  /** The stream is over (after its response or reset), just before access logs: Envoy's filter `log()`. */
  onStreamComplete?(ctx: RequestContext): void;
}

export interface HttpFilterFactory {
  /** Type URLs of the filter's config this factory accepts. */
  readonly typeUrls: readonly string[];
  /** Type URLs accepted in typed_per_filter_config. */
  readonly perRouteTypeUrls: readonly string[];
  /** Compile the HCM-level config (throws ResourceRejectedError). */
  create(name: string, config: Any | undefined, cc: CompileContext): HttpFilter;
  compilePerRoute?(config: Any, cc: CompileContext): unknown;
}

export interface HttpFilterRegistry {
  byTypeUrl(typeUrl: string): HttpFilterFactory | undefined;
  perRoute(typeUrl: string): HttpFilterFactory | undefined;
  register(f: HttpFilterFactory): void;
}

export function createHttpFilterRegistry(factories: HttpFilterFactory[] = []): HttpFilterRegistry {
  const byType = new Map<string, HttpFilterFactory>();
  const perRoute = new Map<string, HttpFilterFactory>();
  const reg: HttpFilterRegistry = {
    byTypeUrl: (t) => byType.get(t),
    perRoute: (t) => perRoute.get(t),
    register(f) {
      for (const t of f.typeUrls) byType.set(t, f);
      for (const t of f.perRouteTypeUrls) perRoute.set(t, f);
    },
  };
  for (const f of factories) reg.register(f);
  return reg;
}

export const ROUTER_TYPE_URL = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";
