// Counters for refused input and floods, under Envoy's names: the HCM's
// `http.<stat_prefix>.*` and the codecs' `http1.*` / `http2.*`.
import type { Counter, StatsStore } from "../contracts.js";

export interface CodecStats {
  droppedHeadersWithUnderscores: Counter;
  requestsRejectedWithUnderscoresInHeaders: Counter;
}

export interface Http2CodecStats extends CodecStats {
  rxReset: Counter;
  txReset: Counter;
  rxMessagingError: Counter;
  tooManyHeaders: Counter;
  headerOverflow: Counter;
  outboundFlood: Counter;
  outboundControlFlood: Counter;
  inboundEmptyFramesFlood: Counter;
  inboundPriorityFramesFlood: Counter;
  inboundWindowUpdateFramesFlood: Counter;
  goawaySent: Counter;
}

export interface HardeningStats {
  /** 413: a body over a buffer limit. */
  rqTooLarge: Counter;
  /** 431 (headers count or size). */
  rqHeadersTooLarge: Counter;
  rqHeaderTimeout: Counter;
  /** A request refused as malformed (400/501) or a codec error. */
  cxProtocolError: Counter;
  rqNonRelativePath: Counter;
  rqTooManyPrematureResets: Counter;
  rqRxReset: Counter;
  pathNormalizationRejected: Counter;
  pathRedirect: Counter;
  /** HTTP/2 connection credit withheld / granted again (http2-connection-budget.ts). */
  flowControlPausedReading: Counter;
  flowControlResumedReading: Counter;
  http1: CodecStats;
  http2: Http2CodecStats;
}

export function createHardeningStats(store: StatsStore, prefix: string): HardeningStats {
  const p = `http.${prefix}.`;
  const codec = (c: string): CodecStats => ({
    droppedHeadersWithUnderscores: store.counter(`${c}.dropped_headers_with_underscores`),
    requestsRejectedWithUnderscoresInHeaders: store.counter(`${c}.requests_rejected_with_underscores_in_headers`),
  });
  return {
    rqTooLarge: store.counter(p + "downstream_rq_too_large"),
    rqHeadersTooLarge: store.counter(p + "downstream_rq_header_too_large"),
    rqHeaderTimeout: store.counter(p + "downstream_rq_header_timeout"),
    cxProtocolError: store.counter(p + "downstream_cx_protocol_error"),
    rqNonRelativePath: store.counter(p + "downstream_rq_non_relative_path"),
    rqTooManyPrematureResets: store.counter(p + "downstream_rq_too_many_premature_resets"),
    rqRxReset: store.counter(p + "downstream_rq_rx_reset"),
    pathNormalizationRejected: store.counter(p + "downstream_rq_failed_path_normalization"),
    pathRedirect: store.counter(p + "downstream_rq_redirected_with_normalized_path"),
    flowControlPausedReading: store.counter(p + "downstream_flow_control_paused_reading_total"),
    flowControlResumedReading: store.counter(p + "downstream_flow_control_resumed_reading_total"),
    http1: codec("http1"),
    http2: {
      ...codec("http2"),
      rxReset: store.counter("http2.rx_reset"),
      txReset: store.counter("http2.tx_reset"),
      rxMessagingError: store.counter("http2.rx_messaging_error"),
      tooManyHeaders: store.counter("http2.too_many_headers"),
      headerOverflow: store.counter("http2.header_overflow"),
      outboundFlood: store.counter("http2.outbound_flood"),
      outboundControlFlood: store.counter("http2.outbound_control_flood"),
      inboundEmptyFramesFlood: store.counter("http2.inbound_empty_frames_flood"),
      inboundPriorityFramesFlood: store.counter("http2.inbound_priority_frames_flood"),
      inboundWindowUpdateFramesFlood: store.counter("http2.inbound_window_update_frames_flood"),
      goawaySent: store.counter("http2.goaway_sent"),
    },
  };
}

/** Counts one refusal from validateRequestHead under the stats Envoy would bump. */
export function countRejection(stats: HardeningStats, details: string, status: number): void {
  const h2 = details.startsWith("http2.");
  if (status === 431) {
    stats.rqHeadersTooLarge.inc();
    if (h2 && details.endsWith("too_many_headers")) stats.http2.tooManyHeaders.inc();
    else if (h2) stats.http2.headerOverflow.inc();
    return;
  }
  if (details.endsWith("unexpected_underscore")) (h2 ? stats.http2 : stats.http1).requestsRejectedWithUnderscoresInHeaders.inc();
  if (details === "path_normalization_failed" || details === "escaped_slashes_rejected") stats.pathNormalizationRejected.inc();
  if (details === "http1.invalid_url") stats.rqNonRelativePath.inc();
  if (h2) stats.http2.rxMessagingError.inc();
  stats.cxProtocolError.inc();
}
