// Istio's stats filter (`istio.stats`, stats.PluginConfig) for HTTP: at the end
// of every request it counts istio_requests_total and records
// istio_request_duration_milliseconds, istio_request_bytes and
// istio_response_bytes, labelled as Istio labels them (istio/request-labels.ts).
// Stats are created with explicit tags under Envoy's `istiocustom` namespace,
// which /stats/prometheus strips, so dashboards see Istio's metric names.
//
// The PluginConfig's `metrics` may drop a metric or remove tags; dimensions
// computed by CEL expressions and custom `definitions` are reported as not
// implemented and left out.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { Counter, Histogram, StatsStore } from "../../contracts.js";
import type { CompileContext, HttpFilter } from "../http-filter.js";
import type { RequestContext } from "../request-context.js";
import { connectionSecurityPolicy, peerLabelValues, REQUEST_LABELS, requestLabelSources, requestOutcomeValues, type LabelInputs, type Reporter } from "../../istio/request-labels.js";
import { workloadMetadataOf, type WorkloadMetadata } from "../../istio/peer-metadata.js";
import type { IstioService } from "../../runtime/compile-cluster.js";
import { DOWNSTREAM_PEER, peerOf, UPSTREAM_PEER } from "./istio-metadata-exchange-filter.js";

const METRICS = ["requests_total", "request_duration_milliseconds", "request_bytes", "response_bytes"] as const;
type MetricName = (typeof METRICS)[number];

/**
 * Label sets kept per process. Peers choose some label values (their exchanged metadata), so
 * without a bound a client inventing identities would grow memory without end; past it, new
 * series are not recorded and this is logged once. Istio bounds the same growth by rotating scopes.
 */
export const MAX_ISTIO_SERIES = 10_000;

// Per stats store (one per proxy; tests run several in a process), shared by every istio.stats
// instance: a listener update makes new filters, and they keep counting into the same series.
const seriesByStore = new WeakMap<StatsStore, { series: Map<string, Series>; capLogged: boolean }>();

interface Series {
  requests?: Counter;
  duration?: Histogram;
  requestBytes?: Histogram;
  responseBytes?: Histogram;
}

/** A connection's last destination: what its labels were computed from, and its series by outcome. */
interface DestinationMemo {
  peer: WorkloadMetadata | undefined;
  endpointPeer: WorkloadMetadata | undefined;
  authority: string | undefined;
  routeName: string | undefined;
  cluster: string | undefined;
  clusterService: IstioService | undefined;
  endpointWorkload: WorkloadMetadata | undefined;
  upstreamPeerSan: string | undefined;
  upstreamLocalSan: string | undefined;
  /** The first 20 label values (reporter … destination_cluster). */
  prefix: string[];
  prefixKey: string;
  securityPolicy: string;
  byOutcome: Map<string, Series>;
}

/** Outcomes (code, flags, gRPC status) remembered per connection; past it, lookups go to the shared map. */
const MAX_OUTCOMES_PER_MEMO = 32;

interface MetricPlan {
  drop: boolean;
  /** Indices into REQUEST_LABELS kept for this metric. */
  kept: number[];
}

function field(json: JsonObject, snake: string, camel: string): JsonValue | undefined {
  return json[snake] ?? json[camel];
}

function reporterOf(json: JsonObject, cc: CompileContext): Reporter {
  const r = json["reporter"];
  if (r === "SERVER_GATEWAY" || r === 1) return "waypoint";
  return cc.direction === "INBOUND" ? "destination" : "source";
}

function planMetrics(json: JsonObject, cc: CompileContext): Record<MetricName, MetricPlan> {
  const plans = {} as Record<MetricName, MetricPlan>;
  const removed: Record<MetricName, Set<string>> = { requests_total: new Set(), request_duration_milliseconds: new Set(), request_bytes: new Set(), response_bytes: new Set() };
  const drop = new Set<string>();
  const metrics = json["metrics"];
  if (Array.isArray(metrics)) {
    metrics.forEach((m, i) => {
      if (m === null || typeof m !== "object" || Array.isArray(m)) return;
      const name = typeof m["name"] === "string" ? m["name"] : "";
      const targets = name ? METRICS.filter((n) => n === name) : [...METRICS];
      if (m["drop"] === true) {
        for (const t of targets) drop.add(t);
        return;
      }
      const tags = field(m, "tags_to_remove", "tagsToRemove");
      if (Array.isArray(tags)) for (const t of tags) if (typeof t === "string") for (const target of targets) removed[target].add(t);
      const dims = m["dimensions"];
      if (dims && typeof dims === "object" && Object.keys(dims).length > 0) cc.report(`${cc.field}.metrics[${i}].dimensions`, "CEL dimension expressions are not implemented; the standard labels are kept");
    });
  }
  const defs = json["definitions"];
  if (Array.isArray(defs) && defs.length > 0) cc.report(`${cc.field}.definitions`, "custom metric definitions (CEL values) are not implemented; skipped");
  if (field(json, "rescoping_duration", "rescopingDuration") !== undefined) cc.report(`${cc.field}.rescoping_duration`, `not implemented; label sets are bounded at ${MAX_ISTIO_SERIES} instead`);
  for (const m of METRICS) {
    plans[m] = { drop: drop.has(m), kept: REQUEST_LABELS.flatMap((l, i) => (removed[m].has(l) ? [] : [i])) };
  }
  return plans;
}

function tagsFor(values: readonly string[], plan: MetricPlan): Array<readonly [string, string]> {
  return plan.kept.map((i) => [REQUEST_LABELS[i]!, values[i]!] as const);
}

function newSeries(stats: StatsStore, values: readonly string[], plans: Record<MetricName, MetricPlan>): Series {
  const s: Series = {};
  const p = plans;
  if (!p.requests_total.drop) s.requests = stats.taggedCounter("istiocustom.istio_requests_total", tagsFor(values, p.requests_total));
  if (!p.request_duration_milliseconds.drop) s.duration = stats.taggedHistogram("istiocustom.istio_request_duration_milliseconds", tagsFor(values, p.request_duration_milliseconds), "milliseconds");
  if (!p.request_bytes.drop) s.requestBytes = stats.taggedHistogram("istiocustom.istio_request_bytes", tagsFor(values, p.request_bytes), "bytes");
  if (!p.response_bytes.drop) s.responseBytes = stats.taggedHistogram("istiocustom.istio_response_bytes", tagsFor(values, p.response_bytes), "bytes");
  return s;
}

/** istio.stats for one HCM, from its PluginConfig as JSON. */
export function createIstioStatsFilter(name: string, json: JsonObject, cc: CompileContext): HttpFilter {
  const runtime = cc.runtime;
  if (!runtime) return { name }; // a pure compile check: nothing to count into
  const plans = planMetrics(json, cc);
  const node = runtime.node;
  const local = workloadMetadataOf(node?.metadata ?? {});
  const istioVersion = typeof node?.metadata["ISTIO_VERSION"] === "string" ? node.metadata["ISTIO_VERSION"] : "";
  runtime.stats.taggedGauge("istiocustom.istio_build", [["component", "proxy"], ["tag", istioVersion || "unknown"]]).set(1);
  const reporter = reporterOf(json, cc);
  const inputs: LabelInputs = {
    reporter,
    local,
    peer: undefined,
    endpointPeer: undefined,
    disableHostHeaderFallback: field(json, "disable_host_header_fallback", "disableHostHeaderFallback") === true,
    clusterService: (c) => runtime.cluster(c)?.config.istioService,
  };
  const stats = runtime.stats;
  let shared = seriesByStore.get(stats);
  if (!shared) seriesByStore.set(stats, (shared = { series: new Map(), capLogged: false }));
  const { series } = shared;
  const state = shared;
  // Filters whose plans differ (dropped metrics, removed tags) must not share series.
  const planKey = JSON.stringify(plans) + "\u0002";
  // The labels before the outcome change only with the peer and the destination, so each
  // connection remembers its last ones: a keep-alive connection's next request looks its series up
  // by a short outcome key instead of rebuilding and hashing all 25 labels.
  const memos = new WeakMap<object, DestinationMemo>();
  const logger = runtime.logger;
  function seriesFor(ctx: RequestContext): Series | undefined {
    const info = ctx.info;
    const peer = peerOf(ctx, reporter === "source" ? UPSTREAM_PEER : DOWNSTREAM_PEER);
    const endpointPeer = reporter === "waypoint" ? peerOf(ctx, UPSTREAM_PEER) : undefined;
    const upstreamTls = info.upstreamTls;
    let m = memos.get(ctx.conn);
    if (
      m === undefined ||
      m.peer !== peer ||
      m.endpointPeer !== endpointPeer ||
      m.authority !== ctx.authority ||
      m.routeName !== info.routeName ||
      m.cluster !== info.upstreamCluster ||
      // A CDS update may change the cluster's istio service metadata under the same name.
      m.clusterService !== (info.upstreamCluster === undefined ? undefined : inputs.clusterService(info.upstreamCluster)) ||
      m.endpointWorkload !== info.upstreamWorkload ||
      m.upstreamPeerSan !== upstreamTls?.peerUriSan ||
      m.upstreamLocalSan !== upstreamTls?.localUriSan
    ) {
      const sources = requestLabelSources(ctx);
      inputs.peer = peer;
      inputs.endpointPeer = endpointPeer;
      const prefix = peerLabelValues(sources, inputs);
      m = {
        peer,
        endpointPeer,
        authority: ctx.authority,
        routeName: info.routeName,
        cluster: info.upstreamCluster,
        clusterService: info.upstreamCluster === undefined ? undefined : inputs.clusterService(info.upstreamCluster),
        endpointWorkload: info.upstreamWorkload,
        upstreamPeerSan: upstreamTls?.peerUriSan,
        upstreamLocalSan: upstreamTls?.localUriSan,
        prefix,
        prefixKey: planKey + prefix.join("\u0001") + "\u0001",
        securityPolicy: connectionSecurityPolicy(reporter, sources),
        byOutcome: new Map(),
      };
      memos.set(ctx.conn, m);
    }
    const outcome = requestOutcomeValues(ctx, m.securityPolicy);
    const outcomeKey = outcome.join("\u0001");
    let s = m.byOutcome.get(outcomeKey);
    if (s !== undefined) return s;
    const key = m.prefixKey + outcomeKey;
    s = series.get(key);
    if (s === undefined) {
      if (series.size >= MAX_ISTIO_SERIES) {
        if (!state.capLogged) logger.warn({ limit: MAX_ISTIO_SERIES }, "istio.stats: too many distinct label sets; new ones are not recorded (a peer may be sending made-up metadata)");
        state.capLogged = true;
        return undefined;
      }
      series.set(key, (s = newSeries(stats, [...m.prefix, ...outcome], plans)));
    }
    if (m.byOutcome.size < MAX_OUTCOMES_PER_MEMO) m.byOutcome.set(outcomeKey, s);
    return s;
  }
  return {
    name,
    onStreamComplete(ctx: RequestContext) {
      const s = seriesFor(ctx);
      if (s === undefined) return;
      const info = ctx.info;
      s.requests?.inc();
      if (info.durationMs !== undefined) s.duration?.record(info.durationMs);
      s.requestBytes?.record(info.bytesReceived);
      s.responseBytes?.record(info.bytesSent);
    },
  };
}
