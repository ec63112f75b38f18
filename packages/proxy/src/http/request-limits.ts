// The hostile-input limits of one HTTP connection manager, read from the
// Envoy fields that configure them, with Weft's defaults where the field is
// unset. Weft's defaults are stricter than Envoy's (a sidecar faces whatever
// the mesh lets in): 60 KiB / 100 request headers, a 10 s headers timeout,
// 100 concurrent HTTP/2 streams, 64 KiB HTTP/2 stream windows (what bounds the
// request bytes one connection can park: RESILIENCE.md), path normalization on.
import type { HttpConnectionManager } from "@weft/xds-api/gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { ResourceRejectedError } from "../contracts.js";
import { durationMs } from "../runtime/duration.js";
import { DEFAULT_PATH_NORMALIZATION, type EscapedSlashesAction, type PathNormalization } from "./normalize-path.js";

export interface Http2Limits {
  /** http2_protocol_options.max_concurrent_streams (Envoy 2^31-1; Weft 100). */
  maxConcurrentStreams: number;
  /**
   * initial_stream_window_size (Envoy 256 MiB; Weft 64 KiB, Envoy's edge guidance). Per connection the
   * proxy holds at most max_concurrent_streams × (this + one 16 KiB stream read buffer) of request bytes.
   */
  initialStreamWindowSize: number;
  /** initial_connection_window_size (Envoy 256 MiB; Weft 1 MiB), sent as the connection window. */
  initialConnectionWindowSize: number;
  /**
   * Whether the connection window bounds the unread request bytes as in Envoy (http2-connection-budget.ts):
   * only when the field is set, since it stalls every upload of a connection whose window is held by
   * streams nobody reads.
   */
  enforceConnectionWindow: boolean;
  /** max_outbound_frames: frames queued for the peer before the connection is a flood (Envoy 10000). */
  maxOutboundFrames: number;
  /** max_outbound_control_frames: PING/SETTINGS/RST_STREAM ACKs queued (Envoy 1000). */
  maxOutboundControlFrames: number;
  /** max_consecutive_inbound_frames_with_empty_payload (Envoy 1). */
  maxConsecutiveEmptyFrames: number;
  /** max_inbound_priority_frames_per_stream (Envoy 100). */
  maxInboundPriorityFramesPerStream: number;
  /** max_inbound_window_update_frames_per_data_frame_sent (Envoy 10). */
  maxInboundWindowUpdatePerDataSent: number;
  /**
   * Whether the WINDOW_UPDATE limit is enforced: only when the field is set explicitly.
   * Checking it puts a frame reader between the socket and node:http2, which costs
   * 25–45 % more CPU per HTTP/2 request (RESILIENCE.md), so it is opt-in.
   */
  enforceWindowUpdateLimit: boolean;
  /**
   * Premature resets (CVE-2023-44487): once this many streams have closed on a
   * connection and at least half were reset by the client before the response
   * finished, the connection gets GOAWAY(ENHANCE_YOUR_CALM). Envoy's runtime key
   * overload.premature_reset_total_stream_count (500); Weft 100.
   */
  prematureResetTotalStreamCount: number;
  /** Largest header block accepted (CONTINUATION flood, CVE-2024-27316): max_request_headers_kb. */
  maxHeaderListBytes: number;
}

export interface RequestLimits {
  /** max_request_headers_kb (Envoy 60; the sum of names and values). */
  maxRequestHeadersBytes: number;
  /** common_http_protocol_options.max_headers_count (Envoy 100). */
  maxHeadersCount: number;
  /** common_http_protocol_options.headers_with_underscores_action (Envoy ALLOW). */
  headersWithUnderscores: "allow" | "reject" | "drop";
  /** common_http_protocol_options.max_requests_per_connection (0: unlimited, Envoy's default). */
  maxRequestsPerConnection: number;
  /** request_headers_timeout (Envoy: none; Weft 10 s; an explicit 0 disables). */
  requestHeadersTimeoutMs: number;
  path: PathNormalization;
  /** strip_matching_host_port */
  stripMatchingHostPort: boolean;
  http2: Http2Limits;
}

const ESCAPED_SLASHES: Record<number, EscapedSlashesAction> = {
  0: DEFAULT_PATH_NORMALIZATION.escapedSlashes, // IMPLEMENTATION_SPECIFIC_DEFAULT: Istio's KEEP_UNCHANGED
  1: "keep",
  2: "reject",
  3: "unescape_and_redirect",
  4: "unescape_and_forward",
};

const UNDERSCORES = ["allow", "reject", "drop"] as const;

const KiB = 1024;
const MiB = 1024 * KiB;

export function compileRequestLimits(hcm: HttpConnectionManager, res: string, field: string, report: (field: string, detail?: string) => void): RequestLimits {
  const kb = hcm.maxRequestHeadersKb ?? 60;
  // Envoy: 1..8192 KiB (PGV); larger would let one request pin megabytes.
  if (kb < 1 || kb > 8192) throw new ResourceRejectedError(res, `${field}.max_request_headers_kb`, `${kb} is outside 1..8192`);
  const common = hcm.commonHttpProtocolOptions;
  const maxHeadersCount = common?.maxHeadersCount ?? 100;
  if (maxHeadersCount < 1) throw new ResourceRejectedError(res, `${field}.common_http_protocol_options.max_headers_count`, "must be at least 1");
  const underscores = UNDERSCORES[common?.headersWithUnderscoresAction ?? 0];
  if (!underscores) throw new ResourceRejectedError(res, `${field}.common_http_protocol_options.headers_with_underscores_action`, `unknown value ${common?.headersWithUnderscoresAction}`);
  const escaped = ESCAPED_SLASHES[hcm.pathWithEscapedSlashesAction];
  if (!escaped) throw new ResourceRejectedError(res, `${field}.path_with_escaped_slashes_action`, `unknown value ${hcm.pathWithEscapedSlashesAction}`);
  if (hcm.normalizePath === false) report("http_connection_manager.normalize_path", "false: paths reach routes, RBAC and the upstream un-normalized");

  const h2 = hcm.http2ProtocolOptions;
  const streams = h2?.maxConcurrentStreams ?? 100;
  if (streams < 1 || streams > 2147483647) throw new ResourceRejectedError(res, `${field}.http2_protocol_options.max_concurrent_streams`, `${streams} is outside 1..2147483647`);
  const win = (v: number | undefined, dflt: number, name: string): number => {
    const w = v ?? dflt;
    // Envoy: 65535..2^31-1.
    if (w < 65535 || w > 2147483647) throw new ResourceRejectedError(res, `${field}.http2_protocol_options.${name}`, `${w} is outside 65535..2147483647`);
    return w;
  };
  const positive = (v: number | undefined, dflt: number, name: string): number => {
    const n = v ?? dflt;
    if (n < 1) throw new ResourceRejectedError(res, `${field}.http2_protocol_options.${name}`, "must be at least 1");
    return n;
  };
  return {
    maxRequestHeadersBytes: kb * 1024,
    maxHeadersCount,
    headersWithUnderscores: underscores,
    maxRequestsPerConnection: common?.maxRequestsPerConnection ?? 0,
    requestHeadersTimeoutMs: durationMs(hcm.requestHeadersTimeout, 10_000),
    path: {
      normalize: hcm.normalizePath ?? DEFAULT_PATH_NORMALIZATION.normalize,
      // A plain bool: "unset" and "false" are one value, and Weft merges by default.
      mergeSlashes: true,
      escapedSlashes: escaped,
    },
    stripMatchingHostPort: hcm.stripMatchingHostPort,
    http2: {
      maxConcurrentStreams: streams,
      initialStreamWindowSize: win(h2?.initialStreamWindowSize, 64 * KiB, "initial_stream_window_size"),
      initialConnectionWindowSize: win(h2?.initialConnectionWindowSize, MiB, "initial_connection_window_size"),
      enforceConnectionWindow: h2?.initialConnectionWindowSize !== undefined,
      maxOutboundFrames: positive(h2?.maxOutboundFrames, 10_000, "max_outbound_frames"),
      maxOutboundControlFrames: positive(h2?.maxOutboundControlFrames, 1000, "max_outbound_control_frames"),
      maxConsecutiveEmptyFrames: h2?.maxConsecutiveInboundFramesWithEmptyPayload ?? 1,
      maxInboundPriorityFramesPerStream: h2?.maxInboundPriorityFramesPerStream ?? 100,
      maxInboundWindowUpdatePerDataSent: positive(h2?.maxInboundWindowUpdateFramesPerDataFrameSent, 10, "max_inbound_window_update_frames_per_data_frame_sent"),
      enforceWindowUpdateLimit: h2?.maxInboundWindowUpdateFramesPerDataFrameSent !== undefined,
      prematureResetTotalStreamCount: 100,
      maxHeaderListBytes: kb * 1024,
    },
  };
}
