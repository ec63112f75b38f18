// Envoy's meaning of http2_protocol_options.initial_connection_window_size
// on a node:http2 server session: the request bytes one downstream connection
// has sent and the proxy has not yet read stay within the connection window.
//
// Envoy returns connection-level credit only once a stream's data has been
// consumed, so the connection window bounds what a connection's codec holds
// however many streams it opens. node:http2 returns connection credit as soon
// as DATA arrives (node_http2.cc calls nghttp2_session_consume_connection on
// receipt); only stream credit is held back while a stream's JS buffer is
// full. The one connection-level lever node:http2 exposes is
// session.setLocalWindowSize (nghttp2_session_set_local_window_size):
// - the bytes that arrived on the connection's streams and were not read yet
//   are counted (each stream's readableLength, kept up to date from the
//   stream's push and read);
// - the connection window granted to the client is half the budget (at least
//   65 535);
// - once the held bytes reach the rest, the local window is set to 0:
//   nghttp2 cuts its receive count by the old window and sends no connection
//   WINDOW_UPDATE, so the client can only spend the credit it already has (at
//   most the window; more is a FLOW_CONTROL_ERROR in nghttp2);
// - once consumers have drained the held bytes to half of that, the window is
//   restored, which cancels the cut. node:http2 runs nghttp2 with
//   NO_AUTO_WINDOW_UPDATE: credit only goes out when DATA arrives, so a client
//   that spent every byte of its credit while paused would wait for ever. The
//   restore then grants one byte more, and the next DATA frame lets nghttp2
//   return the rest.
//
// As in Envoy, a connection whose window is held by streams nobody reads (a
// stalled upstream, requests queued for an upstream connection) stalls every
// upload on that connection until they drain or stream_idle_timeout resets
// them — including uploads the queued ones wait behind. That is why Weft
// applies this only when the field is set (request-limits.ts) and otherwise
// bounds a connection by its stream windows (RESILIENCE.md).
import type * as http2 from "node:http2";
import type { Logger } from "pino";

/** The protocol's initial connection window (RFC 9113 §6.9.2); Envoy's minimum for the field. */
const MIN_BUDGET = 65535;
const MAX_WINDOW = 0x7fffffff;
/** Pausing below one DATA frame of held bytes would stop and start the connection on every frame. */
const MIN_PAUSE = 16 * 1024;

export interface ConnectionBudget {
  /** Bytes received on the connection's streams and not yet read by the proxy. */
  readonly held: number;
  /** True while connection-level credit is withheld. */
  readonly paused: boolean;
}

export interface BudgetCounters {
  /** Envoy: downstream_flow_control_paused_reading_total. */
  paused(): void;
  /** Envoy: downstream_flow_control_resumed_reading_total. */
  resumed(): void;
}

type Push = (chunk: unknown, encoding?: BufferEncoding) => boolean;
type Read = (size?: number) => unknown;

/**
 * Keeps the unread request bytes of one server session within `budgetBytes`. Install from
 * the server's 'session' event, before the session's first stream.
 */
export function installConnectionBudget(session: http2.ServerHttp2Session, budgetBytes: number, counters: BudgetCounters, logger: Logger): ConnectionBudget {
  const budget = Math.max(MIN_BUDGET, budgetBytes);
  // The connection window advertised while not paused; grows by the one-byte nudges. Never below the
  // protocol's 65 535: lowering it would leave nghttp2 a reduction that swallows those nudges.
  let window = Math.max(MIN_BUDGET, Math.floor(budget / 2));
  // Held bytes plus the client's credit (≤ window) stay within the budget (at least 80 KiB).
  const pauseAt = Math.max(MIN_PAUSE, budget - window);
  const resumeAt = Math.floor(pauseAt / 2);
  let held = 0;
  let paused = false;
  let broken = false;

  const setWindow = (size: number): boolean => {
    if (broken || session.destroyed) return false;
    try {
      session.setLocalWindowSize(size);
      return true;
    } catch (err) {
      // Not expected (sizes stay within 0..2^31-1): stop managing rather than throw into a read.
      broken = true;
      logger.debug({ err }, "HTTP/2 connection budget disabled");
      return false;
    }
  };

  const check = (): void => {
    if (paused) {
      if (held > resumeAt) return;
      paused = false;
      counters.resumed();
      if (!setWindow(window)) return;
      if ((session.state.localWindowSize ?? 1) <= 0 && window < MAX_WINDOW) setWindow(++window);
    } else if (held >= pauseAt) {
      if (!setWindow(0)) return;
      paused = true;
      counters.paused();
    }
  };

  session.once("connect", () => {
    // The protocol starts at 65 535.
    setWindow(window);
  });

  session.on("stream", (stream: http2.ServerHttp2Stream) => {
    if (stream.destroyed) return;
    let counted = 0;
    let closed = false;
    const update = (): void => {
      if (closed) return;
      const now = stream.readableLength;
      held += now - counted;
      counted = now;
      check();
    };
    // node:http2 hands every DATA payload to stream.push (stream_base_commons onStreamRead), and
    // every consumer ('data', pipe, async iteration, resume) takes it out through stream.read.
    const own = stream as unknown as { push: Push; read: Read };
    const push = own.push;
    const read = own.read;
    own.push = function (chunk, encoding) {
      const more = push.call(this, chunk, encoding);
      update();
      return more;
    };
    own.read = function (size) {
      const out = read.call(this, size);
      update();
      return out;
    };
    stream.once("close", () => {
      closed = true;
      held -= counted;
      counted = 0;
      check();
    });
    // DATA that arrived with the HEADERS is already buffered before 'stream' is emitted.
    update();
  });

  return {
    get held() {
      return held;
    },
    get paused() {
      return paused;
    },
  };
}
