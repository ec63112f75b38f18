// Seams inside the proxy. The data path (listeners → filter chains → HCM →
// router → clusters → endpoints) never sees protobuf on the request path: xDS
// resources are compiled into runtime objects once, at apply time, and an
// invalid resource is rejected there with the field at fault (→ NACK).
// The control surface (bootstrap, xDS client, admin, stats, access logs)
// talks to the data path only through these interfaces.
import type { Any } from "@bufbuild/protobuf/wkt";
import type { AccessLog } from "@weft/xds-api/gen/envoy/config/accesslog/v3/accesslog_pb";
import type { Bootstrap } from "@weft/xds-api/gen/envoy/config/bootstrap/v3/bootstrap_pb";

// ---- stats -----------------------------------------------------------------

export interface Counter {
  inc(by?: number): void;
  value(): number;
}

export interface Gauge {
  set(value: number): void;
  inc(by?: number): void;
  dec(by?: number): void;
  value(): number;
}

export interface Histogram {
  record(value: number): void;
}

/**
 * Envoy-named stats. Names are Envoy's full flat names
 * (`cluster.outbound|80||a.ns.svc.cluster.local.upstream_rq_total`,
 * `listener.0.0.0.0_15006.downstream_cx_total`, `http.inbound_0.0.0.0_80.downstream_rq_2xx`);
 * the store applies stats_config tag extraction when it renders them.
 * Returned objects are cached handles: look them up at compile time, not per request.
 */
export interface StatsStore {
  counter(name: string): Counter;
  gauge(name: string, importMode?: "accumulate" | "never_import"): Gauge;
  histogram(name: string, unit?: "milliseconds" | "bytes" | "unspecified"): Histogram;
  /**
   * A counter named by its tags rather than by tag extraction (Envoy's counterFromStatNames, which
   * Istio's stats filter uses): `name` is the tag-extracted name, the full name appends `.tag.value`.
   */
  taggedCounter(name: string, tags: ReadonlyArray<readonly [string, string]>): Counter;
  taggedGauge(name: string, tags: ReadonlyArray<readonly [string, string]>): Gauge;
  taggedHistogram(name: string, tags: ReadonlyArray<readonly [string, string]>, unit?: "milliseconds" | "bytes" | "unspecified"): Histogram;
}

// ---- access logs -----------------------------------------------------------

export type HeaderLookup = (lowercaseName: string) => string | undefined;

/** What happened on one request (HTTP) or connection (TCP); filled by the data path. */
export interface StreamInfo {
  /** Wall-clock start, epoch ms. */
  startTime: number;
  /** Total duration in ms (set when the stream ends). */
  durationMs?: number;
  /** `HTTP/1.0`, `HTTP/1.1`, `HTTP/2`; undefined for TCP. */
  protocol?: string;
  requestHeader?: HeaderLookup;
  responseHeader?: HeaderLookup;
  responseTrailer?: HeaderLookup;
  responseCode?: number;
  /** Envoy's response code details: `via_upstream`, `route_not_found`, `no_healthy_upstream`… */
  responseCodeDetails?: string;
  /** Envoy's short response flags, in Envoy's order: `UH`, `UF`, `NR`, `URX`, `UO`, `UT`, `DC`… */
  responseFlags: string[];
  /** Body bytes (HTTP) or connection bytes (TCP): %BYTES_RECEIVED% / %BYTES_SENT%. */
  bytesReceived: number;
  bytesSent: number;
  /**
   * HTTP: the stream's bytes on the downstream wire, framing included (Envoy's downstream
   * BytesMeter wireBytesReceived/wireBytesSent: %DOWNSTREAM_WIRE_BYTES_RECEIVED%/_SENT%,
   * istio_request_bytes / istio_response_bytes). Absent for TCP, whose bytes are all wire bytes.
   */
  wireBytesReceived?: number;
  wireBytesSent?: number;
  /** HeaderMap byteSize (names + values, pseudo-headers included): %REQUEST_HEADERS_BYTES% and the like. */
  requestHeadersBytes?(): number;
  responseHeadersBytes?(): number;
  responseTrailersBytes?(): number;
  upstreamHost?: string;
  upstreamCluster?: string;
  upstreamLocalAddress?: string;
  upstreamTransportFailureReason?: string;
  /** ms from the request being sent upstream to the first response byte. */
  upstreamServiceTimeMs?: number;
  downstreamLocalAddress: string;
  downstreamRemoteAddress: string;
  downstreamDirectRemoteAddress?: string;
  requestedServerName?: string;
  routeName?: string;
  connectionTerminationDetails?: string;
  /** Filter state / dynamic metadata for %FILTER_STATE% and %DYNAMIC_METADATA% (optional). */
  dynamicMetadata?: Record<string, Record<string, unknown>>;
  /** Filter state objects by key, for %FILTER_STATE(key)% (optional). */
  filterState?: Record<string, unknown>;
  /** ms from start to the last request byte / first response byte (%REQUEST_DURATION%, %RESPONSE_DURATION%). */
  requestDurationMs?: number;
  responseDurationMs?: number;
  /** What the downstream TLS handshake learned (peer/local SANs, version…), for the TLS command operators. */
  downstreamTls?: import("./listener/conn-info.js").DownstreamTls;
  /** Set when the health_check filter answered the request (access-log not_health_check filter). */
  healthCheck?: boolean;
}

export interface AccessLogger {
  /** Must never block or throw on the request path. */
  log(info: StreamInfo): void;
}

/** Builds a logger from an Envoy AccessLog config; throws an Error naming the field at fault (→ NACK). */
export type AccessLoggerFactory = (config: AccessLog) => AccessLogger;

// ---- config application ----------------------------------------------------

/** A batch of one xDS type, already decoded from the wire. */
export interface ResourceUpdate {
  typeUrl: string;
  /** version_info of the response (SotW) or a synthetic one (delta). */
  version: string;
  /** Resources added or changed (SotW: the full set for LDS/CDS). */
  resources: ReadonlyArray<{ name: string; version: string; resource: Any }>;
  /** Names removed (delta removed_resources; SotW: LDS/CDS names no longer present). */
  removed: readonly string[];
  /** SotW LDS/CDS responses carry the full state: anything not listed is removed. */
  stateOfTheWorld: boolean;
}

/** Thrown by `apply` for a bad resource: becomes a NACK whose error_detail names both. */
export class ResourceRejectedError extends Error {
  override readonly name = "ResourceRejectedError";
  constructor(
    readonly resourceName: string,
    readonly fieldPath: string,
    reason: string,
  ) {
    super(`${resourceName}: ${fieldPath ? fieldPath + ": " : ""}${reason}`);
  }
}

/** One entry of a config dump: what Envoy's admin shows as dynamic_active_* / static_*. */
export interface DumpEntry<T = Any> {
  name: string;
  version: string;
  lastUpdated: Date;
  resource: T;
  /** "static" from the bootstrap, "active", or "warming". */
  state: "static" | "active" | "warming";
}

export interface ClusterHostStatus {
  address: string; // ip:port
  healthy: boolean;
  /** Envoy health flags: `/failed_active_hc`, `/failed_outlier_check`, `/failed_eds_health`… */
  healthFlags: string[];
  weight: number;
  locality?: { region?: string; zone?: string; subZone?: string };
  stats: Record<string, number>; // cx_active, rq_total, rq_success, rq_error, …
}

/** What the data path exposes to the control surface. */
export interface ProxyRuntime {
  /** Loads static_resources from the bootstrap (listeners bind here). */
  applyBootstrap(bootstrap: Bootstrap): Promise<void>;
  /** Validates and applies one xDS batch; throws ResourceRejectedError → NACK, old config kept. */
  apply(update: ResourceUpdate): Promise<void>;
  /**
   * Optional: compiles a batch exactly as `apply` would (same errors) but
   * applies nothing and binds nothing — for `--mode validate`. Without it,
   * validate mode checks only the protos' validation rules.
   */
  check?(update: ResourceUpdate): Promise<void>;
  /** Names the xDS client must subscribe to after the last apply (EDS clusters, RDS route configs, SDS secrets). */
  subscriptions(): { eds: string[]; rds: string[]; sds: string[] };
  /** True once every initial (CDS, EDS, LDS, RDS) fetch has completed or timed out: PRE_INITIALIZING/INITIALIZING → LIVE. */
  initialized(): boolean;
  onInitialized(listener: () => void): void;
  dump(): {
    listeners: DumpEntry[];
    clusters: DumpEntry[];
    routes: DumpEntry[];
    endpoints: DumpEntry[];
    secrets: DumpEntry[];
  };
  clusterStatus(): Array<{ name: string; hosts: ClusterHostStatus[]; circuitBreakers?: Record<string, number> }>;
  /** `name::address` for each active listener, as /listeners prints. */
  listenerAddresses(): Array<{ name: string; address: string }>;
  /** Stop accepting on listeners (admin /drain_listeners, SIGTERM); existing connections finish. */
  drainListeners(options?: { inboundOnly?: boolean; graceful?: boolean }): Promise<void>;
  /** Active downstream connections, for EXIT_ON_ZERO_ACTIVE_CONNECTIONS and /stats. */
  activeConnections(): number;
  close(): Promise<void>;
}

export interface ProxyRuntimeOptions {
  stats: StatsStore;
  accessLogs: AccessLoggerFactory;
  /** pino logger; component loggers are children of it. */
  logger: import("pino").Logger;
  /** From --service-node / bootstrap node, for x-forwarded-client-cert By= etc. */
  nodeId: string;
  /** The bootstrap node's metadata (Istio's WORKLOAD_NAME, NAMESPACE, LABELS…), for Istio's telemetry filters. */
  nodeMetadata?: import("@bufbuild/protobuf").JsonObject;
  serviceCluster?: string;
  /** Report once per (field path) an unimplemented field; never crash on it. */
  reportUnsupported(fieldPath: string, detail?: string): void;
  /**
   * Optional: true after admin POST /healthcheck/fail (until /healthcheck/ok).
   * Envoy's health_check filter answers 503 (with x-envoy-immediate-health-check-fail) while set.
   */
  healthCheckFailed?(): boolean;
  /** Downstream connection caps from the bootstrap (overload manager / runtime); listener/connection-limits.ts. */
  connectionLimits?: import("./listener/connection-limits.js").ConnectionLimits;
  /** Worker thread `index` of a --concurrency N proxy: listeners are bound with SO_REUSEPORT (listener/reuse-port.ts). */
  workerThread?: { index: number };
  /**
   * The process's shared local_ratelimit bucket table (runtime/shared-bucket-table.ts), given
   * to every worker thread of a --concurrency N proxy so that they draw from one bucket per config.
   */
  rateLimitBuckets?: SharedArrayBuffer;
  /** Logged once with the first shared local_ratelimit bucket when buckets can't be shared (worker processes). */
  rateLimitBucketsUnsharedNote?: string;
}
