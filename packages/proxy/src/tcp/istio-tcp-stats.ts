// Istio's stats filter (`istio.stats`, stats.PluginConfig) as a network filter
// before tcp_proxy: per connection it counts istio_tcp_connections_opened_total
// and _closed_total and adds istio_tcp_sent_bytes_total and _received_bytes_total,
// labelled as Istio labels them (istio/request-labels.ts, TCP_LABELS).
//
// Istio reports a connection as opened once its peer is known (TCP metadata
// exchange done) or at its close, then reports the bytes since the last report
// every tcp_reporting_duration and at close. Here a connection counts as opened
// once tcp_proxy has its upstream (cluster, endpoint and upstream TLS identity
// known) and, where istio.metadata_exchange runs on the reporter's side (the
// chain's filter for the destination, the cluster's for the source), its
// exchange is decided; one that never gets there counts at close, with its
// response flags (UF, UH, NC…). The labels are fixed at that first report, as
// in Istio.
//
// "sent" and "received" are from the downstream's side (Envoy's downstream bytes
// meter): received is what was read from the downstream, sent what was written to it.
import type { JsonObject } from "@bufbuild/protobuf";
import type { Counter } from "../contracts.js";
import type { FilterRuntimeDeps, TrafficDirection } from "../http/http-filter.js";
import { connectionSecurityPolicy, istioReporter, peerLabelValues, TCP_LABELS, type LabelInputs, type LabelSources, type Reporter } from "../istio/request-labels.js";
import { istioSeries, type IstioSeries } from "../istio/istio-series.js";
import { keptTags, planIstioMetrics, type MetricPlan } from "../istio/metric-plan.js";
import { workloadMetadataOf } from "../istio/peer-metadata.js";
import { tcpReportingMs } from "../istio/stats-plugin-config.js";
import type { TcpConnectionView, TcpConnectionWatch, TcpObserver } from "./tcp-observer.js";
import type { PeerExchangeState } from "./peer-exchange.js";

const METRICS = ["tcp_connections_opened_total", "tcp_connections_closed_total", "tcp_sent_bytes_total", "tcp_received_bytes_total"] as const;
type MetricName = (typeof METRICS)[number];

export interface IstioTcpStatsContext {
  report(field: string, detail?: string): void;
  /** The filter's typed_config field, for reports. */
  at: string;
  /** The listener's traffic_direction: the reporter when the config names none. */
  direction: TrafficDirection | undefined;
  /** Absent in pure compile checks: nothing to count into. */
  runtime?: FilterRuntimeDeps;
}

interface TcpSeries {
  opened?: Counter;
  closed?: Counter;
  sent?: Counter;
  received?: Counter;
}

/** What every connection of one filter config shares. */
interface Shared {
  reporter: Reporter;
  inputs: LabelInputs;
  plans: Record<MetricName, MetricPlan>;
  planKey: string;
  series: IstioSeries;
  runtime: FilterRuntimeDeps;
  reportMs: number;
}

/** istio.stats before a tcp_proxy, from its PluginConfig as JSON; undefined when there is no runtime to count into. */
export function createIstioTcpStats(json: JsonObject, cc: IstioTcpStatsContext): TcpObserver | undefined {
  const plans = planIstioMetrics(json, METRICS, TCP_LABELS, cc.report, cc.at);
  const reportMs = tcpReportingMs(json, cc.report, cc.at);
  const runtime = cc.runtime;
  if (!runtime) return undefined;
  const node = runtime.node;
  const istioVersion = typeof node?.metadata["ISTIO_VERSION"] === "string" ? node.metadata["ISTIO_VERSION"] : "";
  runtime.stats.taggedGauge("istiocustom.istio_build", [["component", "proxy"], ["tag", istioVersion || "unknown"]]).set(1);
  const reporter = istioReporter(json["reporter"], cc.direction);
  const shared: Shared = {
    reporter,
    inputs: {
      reporter,
      local: workloadMetadataOf(node?.metadata ?? {}),
      // Per connection, from its exchange; without one the client side falls back to the endpoint's istio.workload, as Istio's does.
      peer: undefined,
      endpointPeer: undefined,
      // There is no Host header on a TCP connection to fall back to.
      disableHostHeaderFallback: true,
      clusterService: (c) => runtime.cluster(c)?.config.istioService,
    },
    plans,
    // Configs whose plans differ (dropped metrics, removed tags) must not share series; the prefix keeps TCP keys apart from HTTP's.
    planKey: "tcp\u0002" + JSON.stringify(plans) + "\u0002",
    series: istioSeries(runtime.stats, runtime.logger),
    runtime,
    reportMs,
  };
  return { watch: (view) => new ConnectionReport(shared, view) };
}

/** The 23 TCP_LABELS values of a connection, from what tcp_proxy knows of it now. */
function labelValues(s: Shared, view: TcpConnectionView): string[] {
  const { conn, info } = view;
  const peer = exchangeOf(s, view)?.peer;
  const sources: LabelSources = {
    authority: undefined,
    routeName: undefined,
    cluster: info.upstreamCluster,
    downstreamPeerSan: conn.tls?.peerUriSan ?? "",
    downstreamLocalSan: conn.tls?.localUriSan ?? "",
    upstreamPeerSan: view.upstreamTls?.peerUriSan ?? "",
    upstreamLocalSan: view.upstreamTls?.localUriSan ?? "",
    endpointWorkload: view.host?.istioWorkload,
  };
  const flags = info.responseFlags.length > 0 ? info.responseFlags.join(",") : "-";
  return [...peerLabelValues(sources, peer ? { ...s.inputs, peer } : s.inputs), "tcp", flags, connectionSecurityPolicy(s.reporter, sources)];
}

/** The exchange whose peer this reporter labels: the downstream's for the server side, the upstream's for the client. */
function exchangeOf(s: Shared, view: TcpConnectionView): PeerExchangeState | undefined {
  return s.reporter === "source" ? view.upstreamPeer : view.downstreamPeer;
}

function counter(s: Shared, metric: MetricName, values: readonly string[]): Counter | undefined {
  const plan = s.plans[metric];
  if (plan.drop) return undefined;
  return s.runtime.stats.taggedCounter(
    `istiocustom.istio_${metric}`,
    keptTags(plan, TCP_LABELS, values),
  );
}

function newSeries(s: Shared, values: readonly string[]): TcpSeries {
  // Made together, so all four series exist (at 0) from the first report on, as Istio's add(0) makes them.
  return {
    opened: counter(s, "tcp_connections_opened_total", values),
    closed: counter(s, "tcp_connections_closed_total", values),
    sent: counter(s, "tcp_sent_bytes_total", values),
    received: counter(s, "tcp_received_bytes_total", values),
  };
}

/** One connection's reports: opened once, bytes periodically and at close, closed at close. */
class ConnectionReport implements TcpConnectionWatch {
  private opened = false;
  private series: TcpSeries | undefined = undefined;
  private sentReported = 0;
  private receivedReported = 0;
  private timer: NodeJS.Timeout | undefined = undefined;

  constructor(
    private readonly s: Shared,
    private readonly view: TcpConnectionView,
  ) {
    if (s.reportMs > 0) {
      this.timer = setInterval(tick, s.reportMs, this);
      // A long-lived connection's report timer must not keep the process alive.
      this.timer.unref();
    }
  }

  private connected = false;

  upstreamConnected(): void {
    this.connected = true;
    this.openWhenKnown();
  }

  peerExchanged(): void {
    if (this.connected) this.openWhenKnown();
  }

  private openWhenKnown(): void {
    if (this.opened || exchangeOf(this.s, this.view)?.done === false) return;
    this.open();
    this.reportBytes();
  }

  tick(): void {
    // Before the connection is labelled (still connecting) there is nothing to report under, as in Istio.
    if (this.opened) this.reportBytes();
  }

  closed(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    if (!this.opened) this.open();
    this.reportBytes();
    this.series?.closed?.inc();
  }

  private open(): void {
    this.opened = true;
    const s = this.s;
    const values = labelValues(s, this.view);
    this.series = s.series.get(s.planKey + values.join("\u0001"), () => newSeries(s, values));
    this.series?.opened?.inc();
  }

  private reportBytes(): void {
    const series = this.series;
    if (series === undefined) return;
    const info = this.view.info;
    series.sent?.inc(info.bytesSent - this.sentReported);
    series.received?.inc(info.bytesReceived - this.receivedReported);
    this.sentReported = info.bytesSent;
    this.receivedReported = info.bytesReceived;
  }
}

function tick(r: ConnectionReport): void {
  r.tick();
}
