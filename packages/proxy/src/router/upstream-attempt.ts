// One try of a request against one upstream host: admission through the
// cluster's HTTP/1.1 gate, the per-try and per-try-idle timers, and the
// response path back to the downstream. The attempt is itself the pool's
// request and handler, so a try costs one object, not a closure per callback.
import type { Readable } from "node:stream";
import type { Headers } from "../http/request-context.js";
import { LocalReplies } from "../http/local-reply.js";
import type { Host } from "../upstream/host.js";
import type { GateState, GateWaiter } from "../upstream/pending-gate.js";
import type { UpstreamError, UpstreamHandler, UpstreamHeaders, UpstreamRequest, UpstreamStream } from "../upstream/upstream-stream.js";
import { attemptFailureOf, countResponse } from "./forward-support.js";
import type { RouterRequest } from "./forward.js";
import { countRequestChunk } from "./request-body-meter.js";

export class UpstreamAttempt implements UpstreamHandler, UpstreamRequest, GateWaiter {
  stream: UpstreamStream | undefined = undefined;
  gateState: GateState = "none";
  readonly method: string;
  readonly path: string;
  readonly authority: string;
  readonly scheme: string;
  readonly headers: Headers;
  readonly onBodyChunk: ((chunk: Buffer) => void) | undefined;
  private sentAt = 0;
  private tryTimer: NodeJS.Timeout | undefined = undefined;
  private idleTimer: NodeJS.Timeout | undefined = undefined;
  private ended = false;

  constructor(
    private readonly router: RouterRequest,
    readonly host: Host,
    /** ctx.attempt when this try began: callbacks of an older try are ignored. */
    private readonly n: number,
    readonly body: Readable | null,
  ) {
    const ctx = router.ctx;
    const h = ctx.headers;
    if (router.route.vhost.includeRequestAttemptCount) h["x-envoy-attempt-count"] = String(n);
    const expected = router.expectedTimeoutMs();
    if (expected > 0 && router.envoyHeaders) h["x-envoy-expected-rq-timeout-ms"] = String(expected);
    const auth = router.spec.autoHostRewrite && host.hostname ? host.hostname : router.authority;
    h["host"] = auth;
    this.method = ctx.method;
    this.path = router.path;
    this.authority = auth;
    this.scheme = ctx.scheme;
    this.headers = h;
    // BYTES_RECEIVED: counted here unless the replay copy counts them as they arrive.
    const info = ctx.info;
    this.onBodyChunk = body && !router.replay ? (chunk) => countRequestChunk(info, chunk) : undefined;
  }

  /** HTTP/1.1 holds a connection per request: admission under max_connections / max_pending_requests. */
  admit(): void {
    const r = this.router;
    if (r.protocol === "http1") r.cluster.http1Gate(r.spec.priority).admit(this);
    else this.send();
  }

  gateOpened(): void {
    if (this.stale()) return this.router.cluster.http1Gate(this.router.spec.priority).leave(this);
    this.send();
  }

  gateOverflowed(): void {
    this.router.endWith(LocalReplies.overflow(this.router.envoyHeaders));
  }

  /** The try is over (response done, retry scheduled, request ended): timers and slot released. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    clearTimeout(this.tryTimer);
    clearTimeout(this.idleTimer);
    if (this.gateState !== "none") this.router.cluster.http1Gate(this.router.spec.priority).leave(this);
    this.host.activeRequests--;
  }

  abortStream(): void {
    this.stream?.abort();
  }

  onHeaders(status: number, headers: UpstreamHeaders, endStream: boolean): void {
    const r = this.router;
    if (this.stale()) return;
    this.armIdle();
    const { cluster, retry, stats, ds, hooks } = r;
    const host = this.host;
    const info = r.ctx.info;
    cluster.reportHttp(host, status);
    cluster.reportLocal(host, "success");
    const retriable = retry?.wouldRetryResponse(status, headers as Headers) ?? false;
    const stream = this.stream;
    if (retriable && r.tryRetry()) {
      countResponse(stats, status);
      host.rqError++;
      stream?.abort();
      return;
    }
    if (retry && retry.used > 0 && !retriable) stats.rqRetrySuccess.inc();
    r.responseStarted = true;
    clearTimeout(this.tryTimer);
    countResponse(stats, status);
    if (status < 500) host.rqSuccess++;
    else host.rqError++;
    const upstreamTime = Date.now() - this.sentAt;
    stats.rqTime.record(upstreamTime);
    info.upstreamServiceTimeMs = upstreamTime;
    info.upstreamLocalAddress = stream?.localAddress();
    // Read from the connection, where it was computed once at its handshake.
    info.upstreamTls = stream?.upstreamTls?.();
    info.responseCodeDetails = "via_upstream";
    info.responseCode = status;
    const out = headers as Headers;
    if (r.envoyHeaders) out["x-envoy-upstream-service-time"] = String(upstreamTime);
    hooks.finishResponseHeaders(status, out, r.weighted);
    info.responseHeaders = out;
    const grpc = String(out["content-type"] ?? "").startsWith("application/grpc");
    // Retries ran out (or were refused) on a retriable response: the upstream's answer goes through, flagged.
    if (retriable && r.noRetryFlag) info.responseFlags.push(r.noRetryFlag);
    ds.respond(status, out, endStream, grpc && ds.protocol === "HTTP/2");
    if (endStream) {
      r.release();
      hooks.finish();
    }
  }

  onData(chunk: Buffer): boolean {
    const r = this.router;
    if (r.finished) return true;
    this.armIdle();
    const info = r.ctx.info;
    info.bytesSent += chunk.length;
    info.grpcMessages?.response.feed(chunk);
    const ok = r.ds.write(chunk);
    if (!ok) r.ds.onDrain(() => r.currentStream()?.resume());
    return ok;
  }

  onEnd(trailers: UpstreamHeaders | undefined): void {
    const r = this.router;
    if (this.stale()) return;
    if (trailers) r.ctx.info.responseTrailers = trailers as Headers;
    r.release();
    r.ds.end(trailers as Headers | undefined);
    r.hooks.finish();
  }

  onError(err: UpstreamError): void {
    const r = this.router;
    if (this.stale()) return;
    clearTimeout(this.tryTimer);
    r.ctx.info.upstreamTransportFailureReason = err.transportReason || undefined;
    if (r.responseStarted) return r.resetDownstream(err.failure === "connection_termination" ? "UC" : "UR");
    if (err.failure === "overflow") return r.endWith(LocalReplies.overflow(r.envoyHeaders));
    r.failAttempt(this.host, attemptFailureOf(err.failure), err);
  }

  /** per_try_timeout: no response head in time; the try is abandoned (and maybe retried). */
  perTryTimedOut(): void {
    const r = this.router;
    if (r.responseStarted || this.stale()) return;
    this.stream?.abort();
    r.stats.rqTimeout.inc();
    r.failAttempt(this.host, "per_try_timeout", undefined);
  }

  /** per_try_idle_timeout: no upstream bytes for that long within this try. */
  idleTimedOut(): void {
    const r = this.router;
    if (this.stale()) return;
    this.stream?.abort();
    if (!r.responseStarted) return r.failAttempt(this.host, "per_try_idle_timeout", undefined);
    // Mid-response: too late to retry, the stream is reset.
    r.stats.rqPerTryIdleTimeout.inc();
    r.resetDownstream("UT");
  }

  private send(): void {
    const r = this.router;
    if (this.stale()) return;
    this.sentAt = Date.now();
    if (r.perTryMs > 0) this.tryTimer = setTimeout(perTryTimedOut, r.perTryMs, this);
    this.armIdle();
    const protocol = r.protocol;
    this.stream = r.cluster.pool(this.host, protocol, r.ctx.upstreamAlpn?.[protocol]).request(this, this);
  }

  private armIdle(): void {
    const ms = this.router.perTryIdleMs;
    if (ms <= 0) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(idleTimedOut, ms, this);
  }

  /** The request finished, or a newer try has taken over. */
  private stale(): boolean {
    return this.router.finished || this.n !== this.router.ctx.attempt;
  }
}

function perTryTimedOut(a: UpstreamAttempt): void {
  a.perTryTimedOut();
}

function idleTimedOut(a: UpstreamAttempt): void {
  a.idleTimedOut();
}
