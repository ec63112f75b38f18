// HTTP/2 flood limits for the downstream codec: the server's SETTINGS and
// node:http2 options from http2_protocol_options, and a per-connection guard
// for what nghttp2 does not cover or covers without a stat.
//
// Who stops what (each case has a test in http2-floods.test.ts):
// - rapid reset (CVE-2023-44487): this guard counts streams the client reset
//   within a second of opening them; once `prematureResetTotalStreamCount`
//   streams have closed and half or more were such resets, GOAWAY
//   ENHANCE_YOUR_CALM and close (Envoy's premature-reset rule).
// - CONTINUATION flood (CVE-2024-27316): nghttp2 caps CONTINUATION frames per
//   header block, and SETTINGS_MAX_HEADER_LIST_SIZE bounds the block's size.
// - PING / SETTINGS floods: nghttp2 closes a session whose queued ACKs pass
//   1000 (Envoy's max_outbound_control_frames default); this guard applies a
//   lower configured max_outbound_control_frames / max_outbound_frames too.
// - empty DATA frames: node:http2 counts them as invalid frames; past
//   `maxSessionInvalidFrames` the session is destroyed.
// - PRIORITY floods: this guard counts PRIORITY frames against
//   max_inbound_priority_frames_per_stream × (1 + opened streams), as Envoy.
// - WINDOW_UPDATE floods: node:http2 never tells JS about WINDOW_UPDATE frames;
//   http2-frame-guard.ts reads the frame headers on the socket to count them.
// - request bytes parked per connection: bounded by the stream windows, and by
//   initial_connection_window_size when it is set (http2-connection-budget.ts);
//   what they cost in memory is bounded by copying DATA chunks that would keep
//   a much larger socket read alive (http2-detach-data.ts).
import * as http2 from "node:http2";
import * as v8 from "node:v8";
import * as vm from "node:vm";
import type { Logger } from "pino";
import type { HardeningStats } from "./hardening-stats.js";
import { installConnectionBudget } from "./http2-connection-budget.js";
import { detachDataChunks } from "./http2-detach-data.js";
import type { RequestLimits } from "./request-limits.js";

const { NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_NO_ERROR } = http2.constants;

/** Marks a stream this proxy reset itself (not a client reset). */
export const LOCAL_RESET = Symbol.for("weft.h2.localReset");

/** Per-header overhead HTTP/2 counts against SETTINGS_MAX_HEADER_LIST_SIZE (RFC 9113 §6.5.2). */
const HEADER_ENTRY_OVERHEAD = 32;

/** A stream reset by the client within this long of opening counts as premature (Envoy: 1 s). */
const PREMATURE_LIFETIME_MS = 1000;

export function http2ServerOptions(limits: RequestLimits): http2.ServerOptions {
  const l = limits.http2;
  // One over the configured count (plus the pseudo-headers) still reaches validate-request.ts, which answers 431.
  const pairs = limits.maxHeadersCount + 1 + 5;
  return {
    maxSessionMemory: 64,
    maxHeaderListPairs: pairs,
    // Empty DATA frames without END_STREAM (and other useless frames) are "invalid" to node:http2.
    // Envoy's limit is on consecutive empty frames (default 1); Node counts them over the session.
    maxSessionInvalidFrames: Math.max(10, l.maxConsecutiveEmptyFrames * 100),
    maxSessionRejectedStreams: 100,
    settings: {
      maxConcurrentStreams: l.maxConcurrentStreams,
      initialWindowSize: l.initialStreamWindowSize,
      maxHeaderListSize: Math.min(l.maxHeaderListBytes + pairs * HEADER_ENTRY_OVERHEAD, 0xffffffff),
      enablePush: false,
    },
  };
}

// Envoy's overload action shrink_heap, applied where abuse is detected: a
// rapid-reset flood is not a leak (the heap in use falls back once it stops),
// but it makes garbage faster than V8's lazy major GC reclaims it, and RSS
// climbs by 100 MB+ in a minute. After cutting an abusive connection, collect
// at most once per SHRINK_INTERVAL_MS, and only with a heap worth shrinking.
const SHRINK_INTERVAL_MS = 2000;
const SHRINK_ABOVE_BYTES = 48 * 1024 * 1024;
let lastShrink = 0;
let gc: (() => void) | null | undefined;

function shrinkHeap(logger: Logger): void {
  const now = Date.now();
  if (now - lastShrink < SHRINK_INTERVAL_MS || process.memoryUsage().heapUsed < SHRINK_ABOVE_BYTES) return;
  lastShrink = now;
  if (gc === undefined) {
    try {
      v8.setFlagsFromString("--expose-gc");
      gc = vm.runInNewContext("gc") as () => void;
    } catch (err) {
      logger.debug({ err }, "no gc(): heap shrinking disabled");
      gc = null;
    }
  }
  gc?.();
}

/** Installs the flood guard on one downstream HTTP/2 session. */
export function guardHttp2Session(session: http2.ServerHttp2Session, limits: RequestLimits, stats: HardeningStats, logger: Logger): void {
  const l = limits.http2;
  const h2 = stats.http2;
  let closedStreams = 0;
  let prematureResets = 0;
  let killed = false;

  const kill = (why: string, counter: { inc(): void }): void => {
    if (killed || session.destroyed) return;
    killed = true;
    counter.inc();
    h2.goawaySent.inc();
    logger.debug({ why }, "closing abusive HTTP/2 connection");
    // GOAWAY(ENHANCE_YOUR_CALM), then close: pending streams are cut, the client must reconnect.
    session.goaway(NGHTTP2_ENHANCE_YOUR_CALM);
    session.destroy();
    shrinkHeap(logger);
  };

  if (l.enforceConnectionWindow) {
    // Set explicitly: the connection window bounds the unread request bytes, as in Envoy.
    installConnectionBudget(session, l.initialConnectionWindowSize, { paused: () => stats.flowControlPausedReading.inc(), resumed: () => stats.flowControlResumedReading.inc() }, logger);
  } else {
    session.once("connect", () => {
      // Advertised only: node:http2 returns connection credit on arrival, the stream windows bound.
      if (l.initialConnectionWindowSize > 65535) {
        try {
          session.setLocalWindowSize(l.initialConnectionWindowSize);
        } catch (err) {
          logger.debug({ err }, "could not set the HTTP/2 connection window");
        }
      }
    });
  }

  const checkOutbound = (control: boolean): void => {
    const queued = session.state.outboundQueueSize ?? 0;
    if (control && queued > l.maxOutboundControlFrames) kill("outbound control frame queue", h2.outboundControlFlood);
    else if (queued > l.maxOutboundFrames) kill("outbound frame queue", h2.outboundFlood);
  };
  session.on("ping", () => checkOutbound(true));
  session.on("remoteSettings", () => checkOutbound(true));

  // max_inbound_priority_frames_per_stream (Envoy's ProtocolConstraints): more than
  // limit × (1 + streams the peer opened) PRIORITY frames is a flood. node:http2 emits each
  // PRIORITY frame as 'priority' — on its stream when that stream is open, else on the session.
  let openedStreams = 0;
  let priorityFrames = 0;
  const onPriority = (): void => {
    if (++priorityFrames > l.maxInboundPriorityFramesPerStream * (1 + openedStreams)) kill("too many PRIORITY frames", h2.inboundPriorityFramesFlood);
  };
  session.on("priority", onPriority);

  let streams = 0;
  session.on("stream", (stream: http2.ServerHttp2Stream) => {
    detachDataChunks(stream);
    const opened = Date.now();
    openedStreams++;
    stream.on("priority", onPriority);
    checkOutbound(false);
    // max_requests_per_connection: the Nth stream is served, then GOAWAY and a graceful close.
    if (limits.maxRequestsPerConnection > 0 && ++streams >= limits.maxRequestsPerConnection && !session.closed) {
      session.goaway(NGHTTP2_NO_ERROR, stream.id ?? 0);
      session.close();
    }
    stream.once("close", () => {
      closedStreams++;
      const code = stream.rstCode ?? NGHTTP2_NO_ERROR;
      const local = (stream as unknown as Record<symbol, boolean>)[LOCAL_RESET] === true;
      if (code !== NGHTTP2_NO_ERROR && !local && !killed) {
        h2.rxReset.inc();
        stats.rqRxReset.inc();
        // Premature (Envoy): reset by the client within PREMATURE_LIFETIME_MS of opening.
        if (Date.now() - opened < PREMATURE_LIFETIME_MS) prematureResets++;
      }
      if (closedStreams >= l.prematureResetTotalStreamCount && prematureResets * 2 >= closedStreams) {
        kill("too many premature resets", stats.rqTooManyPrematureResets);
      }
    });
  });

  session.on("error", (err: NodeJS.ErrnoException) => {
    // node:http2 / nghttp2 verdicts, counted under Envoy's names.
    if (err.code === "ERR_HTTP2_TOO_MANY_INVALID_FRAMES") h2.inboundEmptyFramesFlood.inc();
    else if (/Flooding was detected/.test(err.message)) h2.outboundControlFlood.inc();
    else if (/CONTINUATION/.test(err.message)) h2.headerOverflow.inc();
    else h2.rxMessagingError.inc();
  });
}
