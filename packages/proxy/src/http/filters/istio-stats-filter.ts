// Istio's stats filter (`istio.stats`, stats.PluginConfig) for HTTP: at the end
// of every request it counts istio_requests_total and records
// istio_request_duration_milliseconds, istio_request_bytes and
// istio_response_bytes, labelled as Istio labels them (istio/request-labels.ts);
// for gRPC calls that grpc_stats counted, istio_request/response_messages_total.
// Stats are created with explicit tags under Envoy's `istiocustom` namespace,
// which /stats/prometheus strips, so dashboards see Istio's metric names.
//
// The PluginConfig's `metrics` may drop a metric or remove tags; dimensions
// computed by CEL expressions and custom `definitions` are reported as not
// implemented and left out.
import type { JsonObject } from "@bufbuild/protobuf";
import type { Counter, Histogram, StatsStore } from "../../contracts.js";
import type { CompileContext, HttpFilter } from "../http-filter.js";
import type { RequestContext } from "../request-context.js";
import { connectionSecurityPolicy, istioReporter, peerLabelValues, REQUEST_LABELS, requestLabelSources, requestOutcomeValues, type LabelInputs } from "../../istio/request-labels.js";
import { istioSeries } from "../../istio/istio-series.js";
import { keptTags, planIstioMetrics, type MetricPlan } from "../../istio/metric-plan.js";
import { tcpReportingMs } from "../../istio/stats-plugin-config.js";
import { workloadMetadataOf, type WorkloadMetadata } from "../../istio/peer-metadata.js";
import type { IstioService } from "../../runtime/compile-cluster.js";
import { DOWNSTREAM_PEER, peerOf, UPSTREAM_PEER } from "./istio-metadata-exchange-filter.js";

const METRICS = ["requests_total", "request_duration_milliseconds", "request_bytes", "response_bytes"] as const;
type MetricName = (typeof METRICS)[number];

/** gRPC message counts: Istio labels them with who talked to whom only (no outcome). */
const MESSAGE_METRICS = ["request_messages_total", "response_messages_total"] as const;
const PEER_LABELS = REQUEST_LABELS.slice(0, 20);

interface MessageSeries {
  request?: Counter;
  response?: Counter;
}

/** A gRPC stream's periodic message report: what has been counted so far, and into which series. */
interface MessageReport {
  timer: NodeJS.Timeout | undefined;
  request: number;
  response: number;
  series: MessageSeries | undefined;
}

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
  /** The gRPC message counters of this destination, once a gRPC call ended on it. */
  messages?: MessageSeries;
}

/** Outcomes (code, flags, gRPC status) remembered per connection; past it, lookups go to the shared map. */
const MAX_OUTCOMES_PER_MEMO = 32;

function tagsFor(values: readonly string[], plan: MetricPlan): Array<readonly [string, string]> {
  return keptTags(plan, REQUEST_LABELS, values);
}

function newMessageSeries(stats: StatsStore, prefix: readonly string[], plans: Record<(typeof MESSAGE_METRICS)[number], MetricPlan>): MessageSeries {
  const tags = (plan: MetricPlan) => keptTags(plan, PEER_LABELS, prefix);
  const s: MessageSeries = {};
  if (!plans.request_messages_total.drop) s.request = stats.taggedCounter("istiocustom.istio_request_messages_total", tags(plans.request_messages_total));
  if (!plans.response_messages_total.drop) s.response = stats.taggedCounter("istiocustom.istio_response_messages_total", tags(plans.response_messages_total));
  return s;
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
  const plans = planIstioMetrics(json, METRICS, REQUEST_LABELS, cc.report, cc.field);
  // The same overrides for the message counters (already reported above, so not again).
  const messagePlans = planIstioMetrics(json, MESSAGE_METRICS, PEER_LABELS, () => undefined, cc.field);
  const node = runtime.node;
  const local = workloadMetadataOf(node?.metadata ?? {});
  const istioVersion = typeof node?.metadata["ISTIO_VERSION"] === "string" ? node.metadata["ISTIO_VERSION"] : "";
  runtime.stats.taggedGauge("istiocustom.istio_build", [["component", "proxy"], ["tag", istioVersion || "unknown"]]).set(1);
  const reporter = istioReporter(json["reporter"], cc.direction);
  const inputs: LabelInputs = {
    reporter,
    local,
    peer: undefined,
    endpointPeer: undefined,
    disableHostHeaderFallback: (json["disable_host_header_fallback"] ?? json["disableHostHeaderFallback"]) === true,
    clusterService: (c) => runtime.cluster(c)?.config.istioService,
  };
  const stats = runtime.stats;
  const series = istioSeries(stats, runtime.logger);
  // Filters whose plans differ (dropped metrics, removed tags) must not share series; the "http"
  // prefix keeps them apart from the TCP metrics' series in the same table.
  const planKey = "http\u0002" + JSON.stringify(plans) + "\u0002";
  // The labels before the outcome change only with the peer and the destination, so each
  // connection remembers its last ones: a keep-alive connection's next request looks its series up
  // by a short outcome key instead of rebuilding and hashing all 25 labels.
  const memos = new WeakMap<object, DestinationMemo>();
  /** The memo of the destination this request went to (rebuilt when it differs from the last one). */
  function memoFor(ctx: RequestContext): DestinationMemo {
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
    return m;
  }
  function seriesFor(ctx: RequestContext): Series | undefined {
    const m = memoFor(ctx);
    const outcome = requestOutcomeValues(ctx, m.securityPolicy);
    const outcomeKey = outcome.join("\u0001");
    let s = m.byOutcome.get(outcomeKey);
    if (s !== undefined) return s;
    const key = m.prefixKey + outcomeKey;
    s = series.get(key, () => newSeries(stats, [...m.prefix, ...outcome], plans));
    if (s === undefined) return undefined;
    if (m.byOutcome.size < MAX_OUTCOMES_PER_MEMO) m.byOutcome.set(outcomeKey, s);
    return s;
  }
  function messageSeriesFor(ctx: RequestContext): MessageSeries {
    const m = memoFor(ctx);
    return (m.messages ??= series.get("grpc\u0002" + m.prefixKey, () => newMessageSeries(stats, m.prefix, messagePlans)) ?? {});
  }
  // A gRPC stream's message counts are reported every tcp_reporting_duration while it lasts, as
  // Istio does, once its response has begun (by then the peer is known on both sides), and the
  // rest when it ends; a stream keeps the labels of its first report.
  const reportMs = tcpReportingMs(json, cc.report, cc.field);
  const streams = new WeakMap<RequestContext, MessageReport>();
  function reportMessages(ctx: RequestContext, end: boolean): void {
    const counts = ctx.info.grpcMessages!;
    const r = streams.get(ctx);
    if (end && r?.timer) clearInterval(r.timer);
    if (!end && ctx.info.responseHeaders === undefined) return;
    const state = r ?? { timer: undefined, request: 0, response: 0, series: undefined };
    const ms = (state.series ??= messageSeriesFor(ctx));
    if (counts.request.count > state.request) ms.request?.inc(counts.request.count - state.request);
    if (counts.response.count > state.response) ms.response?.inc(counts.response.count - state.response);
    state.request = counts.request.count;
    state.response = counts.response.count;
    if (!r && !end) streams.set(ctx, state);
  }
  return {
    name,
    decodeHeaders(ctx: RequestContext) {
      if (reportMs > 0 && ctx.info.grpcMessages) {
        const timer = setInterval(() => reportMessages(ctx, false), reportMs);
        timer.unref();
        streams.set(ctx, { timer, request: 0, response: 0, series: undefined });
      }
      return undefined;
    },
    onStreamComplete(ctx: RequestContext) {
      const info = ctx.info;
      // First: it also stops the stream's report timer.
      if (info.grpcMessages) reportMessages(ctx, true);
      const s = seriesFor(ctx);
      if (s === undefined) return;
      s.requests?.inc();
      if (info.durationMs !== undefined) s.duration?.record(info.durationMs);
      // Istio records the downstream wire bytes (heads and framing included), not body bytes.
      s.requestBytes?.record(info.wireBytesReceived);
      s.responseBytes?.record(info.wireBytesSent);
    },
  };
}
