// DestinationRule trafficPolicy → Envoy Cluster fields, as istiod's
// cluster_traffic_policy.go does: loadBalancer → lb_policy (+ ring_hash_lb_config),
// connectionPool → circuit_breakers / connect_timeout / http protocol options,
// outlierDetection → outlier_detection. Subset policies override the
// top-level one field by field, and portLevelSettings override for their port.
import type { JsonObject } from "@bufbuild/protobuf";
import { isObject, type Json } from "../source/field-checker.js";
import { parseDurationMs, durationJson } from "../source/duration.js";
import { DEFAULT_THRESHOLDS } from "./envoy-json.js";

const POLICY_FIELDS = ["loadBalancer", "connectionPool", "outlierDetection", "tls", "tunnel", "proxyProtocol"];

function overlay(base: Json | undefined, top: Json | undefined, port: number): Json {
  const out: Json = { ...(base ?? {}) };
  const apply = (p: Json | undefined): void => {
    if (!p) return;
    for (const f of POLICY_FIELDS) if (p[f] !== undefined) out[f] = p[f];
    const pls = Array.isArray(p.portLevelSettings) ? p.portLevelSettings : [];
    const pl = pls.find((s) => isObject(s) && isObject(s.port) && s.port.number === port);
    if (isObject(pl)) for (const f of POLICY_FIELDS) if (pl[f] !== undefined) out[f] = pl[f];
  };
  apply(top);
  return out;
}

/** The effective policy for one port and subset of a DestinationRule spec. */
export function effectivePolicy(drSpec: Json | undefined, subset: string | undefined, port: number): Json {
  if (!drSpec) return {};
  const top = isObject(drSpec.trafficPolicy) ? drSpec.trafficPolicy : undefined;
  let policy = overlay(undefined, top, port);
  if (subset) {
    const s = (Array.isArray(drSpec.subsets) ? drSpec.subsets : []).find((x) => isObject(x) && x.name === subset);
    if (isObject(s) && isObject(s.trafficPolicy)) policy = overlay(policy, s.trafficPolicy, port);
  }
  return policy;
}

const ms = (v: unknown): string => durationJson(parseDurationMs(v));

export interface ClusterPolicyOptions {
  connectTimeoutMs: number;
  http2: boolean;
  /** Proxyless gRPC accepts only ROUND_ROBIN and RING_HASH (grpc-js-xds cluster-resource-type). */
  grpc: boolean;
}

/** Cluster fields from a policy; merged into the cluster JSON by the caller. */
export function clusterPolicyFields(policy: Json, opts: ClusterPolicyOptions): JsonObject {
  const out: JsonObject = {};
  const lb = isObject(policy.loadBalancer) ? policy.loadBalancer : {};
  const ch = isObject(lb.consistentHash) ? lb.consistentHash : undefined;
  if (ch) {
    out.lb_policy = "RING_HASH";
    const min = typeof ch.minimumRingSize === "number" ? ch.minimumRingSize : 1024;
    out.ring_hash_lb_config = { minimum_ring_size: String(min) };
  } else {
    const simple = typeof lb.simple === "string" ? lb.simple : "LEAST_REQUEST";
    // Istio's default is LEAST_REQUEST; LEAST_CONN is its old alias.
    const map: Record<string, string> = { ROUND_ROBIN: "ROUND_ROBIN", LEAST_CONN: "LEAST_REQUEST", LEAST_REQUEST: "LEAST_REQUEST", UNSPECIFIED: "LEAST_REQUEST", RANDOM: "RANDOM", PASSTHROUGH: "CLUSTER_PROVIDED" };
    out.lb_policy = map[simple] ?? "LEAST_REQUEST";
    if (opts.grpc && out.lb_policy !== "ROUND_ROBIN") out.lb_policy = "ROUND_ROBIN";
  }
  const pool = isObject(policy.connectionPool) ? policy.connectionPool : {};
  const tcp = isObject(pool.tcp) ? pool.tcp : {};
  const http = isObject(pool.http) ? pool.http : {};
  out.connect_timeout = tcp.connectTimeout !== undefined ? ms(tcp.connectTimeout) : durationJson(opts.connectTimeoutMs);
  const thresholds: JsonObject = { ...DEFAULT_THRESHOLDS };
  if (typeof tcp.maxConnections === "number") thresholds.max_connections = tcp.maxConnections;
  if (typeof http.http1MaxPendingRequests === "number") thresholds.max_pending_requests = http.http1MaxPendingRequests;
  if (typeof http.http2MaxRequests === "number") thresholds.max_requests = http.http2MaxRequests;
  if (typeof http.maxRetries === "number") thresholds.max_retries = http.maxRetries;
  out.circuit_breakers = { thresholds: [opts.grpc ? { max_requests: thresholds.max_requests } : thresholds] };
  if (!opts.grpc) {
    const common: JsonObject = {};
    if (http.idleTimeout !== undefined) common.idle_timeout = ms(http.idleTimeout);
    if (typeof http.maxRequestsPerConnection === "number" && http.maxRequestsPerConnection > 0) common.max_requests_per_connection = http.maxRequestsPerConnection;
    if (tcp.maxConnectionDuration !== undefined) common.max_connection_duration = ms(tcp.maxConnectionDuration);
    const http2 = opts.http2 || http.h2UpgradePolicy === "UPGRADE";
    if (http2 || Object.keys(common).length > 0) {
      out.typed_extension_protocol_options = {
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
          "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
          ...(Object.keys(common).length > 0 ? { common_http_protocol_options: common } : {}),
          explicit_http_config: http2
            ? { http2_protocol_options: typeof http.maxConcurrentStreams === "number" ? { max_concurrent_streams: http.maxConcurrentStreams } : {} }
            : { http_protocol_options: {} },
        },
      };
    }
    const ka = isObject(tcp.tcpKeepalive) ? tcp.tcpKeepalive : undefined;
    if (ka) {
      const keepalive: JsonObject = {};
      if (typeof ka.probes === "number") keepalive.keepalive_probes = ka.probes;
      if (ka.time !== undefined) keepalive.keepalive_time = Math.round(parseDurationMs(ka.time) / 1000);
      if (ka.interval !== undefined) keepalive.keepalive_interval = Math.round(parseDurationMs(ka.interval) / 1000);
      out.upstream_connection_options = { tcp_keepalive: keepalive };
    }
  }
  const od = isObject(policy.outlierDetection) ? policy.outlierDetection : undefined;
  if (od) {
    const o: JsonObject = {};
    // istiod: consecutive5xxErrors → consecutive_5xx, consecutiveGatewayErrors →
    // consecutive_gateway_failure, each enforced at 100%; success-rate ejection off.
    const five = typeof od.consecutive5xxErrors === "number" ? od.consecutive5xxErrors : typeof od.consecutiveErrors === "number" ? od.consecutiveErrors : undefined;
    if (five !== undefined) {
      o.consecutive_5xx = five;
      o.enforcing_consecutive_5xx = five > 0 ? 100 : 0;
    } else o.enforcing_consecutive_5xx = 0;
    if (typeof od.consecutiveGatewayErrors === "number") {
      o.consecutive_gateway_failure = od.consecutiveGatewayErrors;
      o.enforcing_consecutive_gateway_failure = od.consecutiveGatewayErrors > 0 ? 100 : 0;
    }
    if (od.interval !== undefined) o.interval = ms(od.interval);
    if (od.baseEjectionTime !== undefined) o.base_ejection_time = ms(od.baseEjectionTime);
    if (typeof od.maxEjectionPercent === "number") o.max_ejection_percent = od.maxEjectionPercent;
    o.enforcing_success_rate = 0;
    out.outlier_detection = o;
    if (typeof od.minHealthPercent === "number" && !opts.grpc) out.common_lb_config = { healthy_panic_threshold: { value: od.minHealthPercent } };
  }
  return out;
}

/** Route hash_policy for a consistentHash load balancer (istiod's consistentHashToHashPolicy). */
export function hashPolicy(policy: Json): JsonObject[] | undefined {
  const lb = isObject(policy.loadBalancer) ? policy.loadBalancer : undefined;
  const ch = lb && isObject(lb.consistentHash) ? lb.consistentHash : undefined;
  if (!ch) return undefined;
  if (typeof ch.httpHeaderName === "string") return [{ header: { header_name: ch.httpHeaderName } }];
  if (isObject(ch.httpCookie)) {
    const c = ch.httpCookie;
    return [{ cookie: { name: c.name as string, ...(c.path ? { path: c.path as string } : {}), ...(c.ttl !== undefined ? { ttl: ms(c.ttl) } : {}) } }];
  }
  if (ch.useSourceIp === true) return [{ connection_properties: { source_ip: true } }];
  if (typeof ch.httpQueryParameterName === "string") return [{ query_parameter: { name: ch.httpQueryParameterName } }];
  return undefined;
}
