// The router filter's upstream half: cluster and host selection, circuit
// breaking, path/host rewrites, retries (route.v3.RetryPolicy with Envoy's
// back-off and host predicates), per-try and global timeouts, mirroring,
// passive health reporting, streaming the response back, per-cluster stats.
import type { Downstream } from "../http/downstream.js";
import type { HcmRuntime } from "../http/hcm-runtime.js";
import type { Headers, RequestContext } from "../http/request-context.js";
import { LocalReplies, type LocalReply } from "../http/local-reply.js";
import type { CompiledRoute, CompiledRouteConfig } from "../runtime/compile-route-config.js";
import type { Host } from "../upstream/host.js";
import type { Cluster } from "../upstream/cluster.js";
import type { UpstreamError, UpstreamHeaders, UpstreamStream } from "../upstream/upstream-stream.js";
import { applyHeaderMutation, type HeaderMutation } from "./header-mutation.js";
import type { RouteForwardSpec } from "./route-action.js";
import { computeHash, selectCluster } from "./select-route.js";
import { createRetryState, type AttemptFailure } from "./retry-state.js";
import { createReplayBody } from "./replay-body.js";
import { startMirrors } from "./mirror.js";
import { attemptFailureOf, countResponse, failureReply, headerMs } from "./forward-support.js";

/** Envoy's default per_connection_buffer_limit_bytes, which bounds the body kept for retries and shadows. */
const DEFAULT_BUFFER_LIMIT = 1024 * 1024;

export interface ForwardHooks {
  localReply(r: LocalReply): void;
  finishResponseHeaders(status: number, headers: Headers, weighted?: { responseHeaders: HeaderMutation }): void;
  finish(): void;
}

/** Starts the upstream exchange; returns a function that aborts it (downstream went away). */
export function forwardUpstream(
  ctx: RequestContext,
  ds: Downstream,
  spec: RouteForwardSpec,
  route: CompiledRoute,
  rc: CompiledRouteConfig,
  rt: HcmRuntime,
  hooks: ForwardHooks,
): () => void {
  const { name, weightedIndex } = selectCluster(spec, ctx, rt.random);
  const cluster = name ? rt.cluster(name) : undefined;
  if (name) ctx.info.upstreamCluster = name;
  if (!cluster || !cluster.warm) {
    rt.stats.noCluster.inc();
    hooks.localReply(LocalReplies.clusterNotFound(spec.clusterNotFoundStatus));
    return noop;
  }
  const weighted = weightedIndex >= 0 ? spec.weighted![weightedIndex] : undefined;
  const h = ctx.headers;
  const v = ctx;
  // Envoy's order: weighted cluster, route, virtual host, route configuration.
  if (weighted) applyHeaderMutation(h, weighted.requestHeaders, v);
  applyHeaderMutation(h, route.requestHeaders, v);
  applyHeaderMutation(h, route.vhost.requestHeaders, v);
  applyHeaderMutation(h, rc.requestHeaders, v);

  let path = ctx.path;
  if (spec.prefixRewrite !== undefined && route.matchedPrefix !== undefined) {
    h["x-envoy-original-path"] = path;
    const rest = path.slice(route.matchedPrefix.length);
    path = spec.prefixRewrite + rest;
  } else if (spec.regexRewrite) {
    const q = path.indexOf("?");
    const p = q < 0 ? path : path.slice(0, q);
    h["x-envoy-original-path"] = path;
    path = p.replace(spec.regexRewrite.re as unknown as RegExp, spec.regexRewrite.substitution) + (q < 0 ? "" : path.slice(q));
  }
  let authority = ctx.authority;
  if (spec.hostRewriteLiteral) authority = spec.hostRewriteLiteral;

  const retry = createRetryState(spec.retryPolicy ?? route.vhost.retryPolicy, ctx, rt.random);
  const includeAttempt = route.vhost.includeRequestAttemptCount;
  const hash = computeHash(spec.hashPolicy, ctx);
  const protocol = cluster.config.protocol === "downstream" ? (ds.protocol === "HTTP/2" ? "http2" : "http1") : cluster.config.protocol;
  const stats = cluster.stats;
  const info = ctx.info;
  // x-envoy-upstream-rq-timeout-ms / -per-try-timeout-ms (internal requests only: the HCM strips them from external ones).
  const timeoutMs = headerMs(h["x-envoy-upstream-rq-timeout-ms"]) ?? spec.timeoutMs;
  const perTryMs = headerMs(h["x-envoy-upstream-rq-per-try-timeout-ms"]) ?? retry?.policy.perTryTimeoutMs ?? 0;
  // per_try_idle_timeout: no upstream bytes for this long within one attempt.
  const perTryIdleMs = retry?.policy.perTryIdleTimeoutMs ?? 0;
  const rm = cluster.resources(spec.priority);

  if (!rm.requests.canCreate()) {
    // max_requests: Envoy counts this overflow as upstream_rq_pending_overflow too.
    stats.rqPendingOverflow.inc();
    hooks.localReply(LocalReplies.overflow());
    return noop;
  }
  rm.requests.inc();
  stats.rqActive.inc();

  // The body is kept for replays only when a retry or a mirror may need it.
  const replay =
    ds.body !== null && (retry !== undefined || spec.mirrors.length > 0)
      ? createReplayBody(ds.body, spec.bufferLimitBytes ?? DEFAULT_BUFFER_LIMIT, (n) => (info.bytesReceived += n), () => stats.retryOrShadowAbandoned.inc())
      : undefined;
  if (spec.mirrors.length) {
    startMirrors(spec.mirrors, ctx, { method: ctx.method, path, authority, headers: { ...h }, timeoutMs }, replay ?? null, { cluster: (n) => rt.cluster(n), random: rt.random });
  }

  let finished = false;
  let current: UpstreamStream | undefined;
  let currentHost: Host | undefined;
  let releaseSlot: (() => void) | undefined;
  let cancelPending: (() => void) | undefined;
  let globalTimer: NodeJS.Timeout | undefined;
  let tryTimer: NodeJS.Timeout | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let responseStarted = false;
  /** Set when a retry was wanted but none was left (URX) or the retry circuit breaker said no (UO). */
  let noRetryFlag: "URX" | "UO" | undefined;

  const endAttempt = (): void => {
    clearTimeout(tryTimer);
    clearTimeout(idleTimer);
    cancelPending?.();
    cancelPending = undefined;
    releaseSlot?.();
    releaseSlot = undefined;
    if (currentHost) {
      currentHost.activeRequests--;
      currentHost = undefined;
    }
  };

  const release = (): void => {
    if (finished) return;
    finished = true;
    clearTimeout(globalTimer);
    clearTimeout(retryTimer);
    endAttempt();
    rm.requests.dec();
    stats.rqActive.dec();
    replay?.close();
  };

  const endWith = (r: LocalReply): void => {
    release();
    hooks.localReply(r);
  };

  const countBody = (n: number): void => {
    info.bytesReceived += n;
  };

  /** Schedules a retry if one is left, allowed and possible; false leaves the current outcome standing. */
  const tryRetry = (): boolean => {
    if (!retry || responseStarted || ds.closed) return false;
    if (retry.remaining <= 0) {
      if (retry.policy.numRetries > 0) stats.rqRetryLimitExceeded.inc();
      noRetryFlag = "URX";
      return false;
    }
    if (replay?.overflowed) return false;
    if (!rm.retries.canCreate()) {
      // max_retries / retry_budget circuit breaker.
      stats.rqRetryOverflow.inc();
      noRetryFlag = "UO";
      return false;
    }
    retry.remaining--;
    retry.used++;
    stats.rqRetry.inc();
    stats.rqRetryBackoffExponential.inc();
    rm.retries.inc();
    endAttempt();
    current = undefined;
    retryTimer = setTimeout(() => {
      rm.retries.dec();
      if (finished) return;
      ctx.attempt++;
      attempt();
    }, retry.nextBackoffMs());
    return true;
  };

  const failAttempt = (host: Host, f: AttemptFailure, err: UpstreamError | undefined): void => {
    cluster.reportLocal(host, f === "connect_failure" ? "connect_failed" : f === "per_try_timeout" || f === "per_try_idle_timeout" ? "timeout" : "reset");
    if (f === "per_try_timeout") stats.rqPerTryTimeout.inc();
    if (f === "per_try_idle_timeout") stats.rqPerTryIdleTimeout.inc();
    if (retry?.wouldRetryFailure(f) && tryRetry()) return;
    host.rqError++;
    const r = failureReply(f, err, (retry?.used ?? 0) > 0);
    if (noRetryFlag === "URX" || noRetryFlag === "UO") {
      // Envoy records the failure's own flag, then why it stopped retrying (e.g. UF,URX).
      if (r.flag) info.responseFlags.push(r.flag);
      r.flag = noRetryFlag;
    }
    endWith(r);
  };

  const attempt = (): void => {
    const host = cluster.pickHost(hash, ctx.originalDst ?? originalDstHeader(ctx, cluster), retry?.rejectHost, retry?.policy.hostSelectionRetryMaxAttempts);
    if (!host) return endWith(LocalReplies.noHealthyUpstream());
    retry?.attempted(host);
    currentHost = host;
    host.activeRequests++;
    host.rqTotal++;
    info.upstreamHost = host.key;
    if (includeAttempt) h["x-envoy-attempt-count"] = String(ctx.attempt);
    if (timeoutMs > 0 || perTryMs > 0) h["x-envoy-expected-rq-timeout-ms"] = String(perTryMs > 0 && (timeoutMs === 0 || perTryMs < timeoutMs) ? perTryMs : timeoutMs);
    const auth = spec.autoHostRewrite && host.hostname ? host.hostname : authority;
    h["host"] = auth;
    const myAttempt = ctx.attempt;
    const body = replay ? replay.open() : ds.body;
    const send = (): void => {
      cancelPending = undefined;
      if (finished || myAttempt !== ctx.attempt) return;
      const sentAt = Date.now();
      if (perTryMs > 0) {
        tryTimer = setTimeout(() => {
          if (finished || responseStarted || myAttempt !== ctx.attempt) return;
          current?.abort();
          stats.rqTimeout.inc();
          failAttempt(host, "per_try_timeout", undefined);
        }, perTryMs);
      }
      const armIdle = (): void => {
        if (perTryIdleMs <= 0) return;
        clearTimeout(idleTimer);
        idleTimer = setTimeout(() => {
          if (finished || myAttempt !== ctx.attempt) return;
          current?.abort();
          if (!responseStarted) return failAttempt(host, "per_try_idle_timeout", undefined);
          // Mid-response: too late to retry, the stream is reset.
          stats.rqPerTryIdleTimeout.inc();
          info.responseFlags.push("UT");
          release();
          ds.reset();
          hooks.finish();
        }, perTryIdleMs);
      };
      armIdle();
      current = cluster.pool(host, protocol, ctx.upstreamAlpn?.[protocol]).request(
        { method: ctx.method, path, authority: auth, scheme: ctx.scheme, headers: h, body, onBodyBytes: replay ? undefined : countBody },
        {
          onHeaders(status: number, headers: UpstreamHeaders, endStream: boolean) {
            if (finished || myAttempt !== ctx.attempt) return;
            armIdle();
            cluster.reportHttp(host, status);
            cluster.reportLocal(host, "success");
            const retriable = retry?.wouldRetryResponse(status, headers as Headers) ?? false;
            const stream = current;
            if (retriable && tryRetry()) {
              countResponse(stats, status);
              host.rqError++;
              stream?.abort();
              return;
            }
            if (retry && retry.used > 0 && !retriable) stats.rqRetrySuccess.inc();
            responseStarted = true;
            clearTimeout(tryTimer);
            countResponse(stats, status);
            if (status < 500) host.rqSuccess++;
            else host.rqError++;
            const upstreamTime = Date.now() - sentAt;
            stats.rqTime.record(upstreamTime);
            info.upstreamServiceTimeMs = upstreamTime;
            info.upstreamLocalAddress = current?.localAddress();
            info.responseCodeDetails = "via_upstream";
            info.responseCode = status;
            const out = headers as Headers;
            out["x-envoy-upstream-service-time"] = String(upstreamTime);
            hooks.finishResponseHeaders(status, out, weighted);
            info.responseHeader = (n) => {
              const x = out[n];
              return typeof x === "string" ? x : x?.join(",");
            };
            const grpc = String(out["content-type"] ?? "").startsWith("application/grpc");
            // Retries ran out (or were refused) on a retriable response: the upstream's answer goes through, flagged.
            if (retriable && noRetryFlag) info.responseFlags.push(noRetryFlag);
            ds.respond(status, out, endStream, grpc && ds.protocol === "HTTP/2");
            if (endStream) {
              release();
              hooks.finish();
            }
          },
          onData(chunk: Buffer) {
            if (finished) return true;
            armIdle();
            info.bytesSent += chunk.length;
            const ok = ds.write(chunk);
            if (!ok) ds.onDrain(() => current?.resume());
            return ok;
          },
          onEnd(trailers) {
            if (finished || myAttempt !== ctx.attempt) return;
            if (trailers) {
              const t = trailers as Headers;
              info.responseTrailer = (n) => {
                const x = t[n];
                return typeof x === "string" ? x : x?.join(",");
              };
            }
            release();
            ds.end(trailers as Headers | undefined);
            hooks.finish();
          },
          onError(err: UpstreamError) {
            if (finished || myAttempt !== ctx.attempt) return;
            clearTimeout(tryTimer);
            info.upstreamTransportFailureReason = err.transportReason || undefined;
            if (responseStarted) {
              info.responseFlags.push(err.failure === "connection_termination" ? "UC" : "UR");
              release();
              ds.reset();
              hooks.finish();
              return;
            }
            if (err.failure === "overflow") return endWith(LocalReplies.overflow());
            failAttempt(host, attemptFailureOf(err.failure), err);
          },
        },
      );
    };
    if (body === null && ds.body !== null) return endWith(LocalReplies.reset(true));
    // HTTP/1.1 holds a connection per request: admission under max_connections / max_pending_requests.
    if (protocol === "http1") {
      cancelPending = cluster.http1Gate(spec.priority).admit(
        (rel) => {
          if (finished || myAttempt !== ctx.attempt) return rel();
          releaseSlot = rel;
          send();
        },
        () => endWith(LocalReplies.overflow()),
      );
    } else send();
  };

  if (timeoutMs > 0) {
    globalTimer = setTimeout(() => {
      if (finished) return;
      current?.abort();
      stats.rqTimeout.inc();
      if (currentHost) cluster.reportLocal(currentHost, "timeout");
      if (responseStarted) {
        info.responseFlags.push("UT");
        release();
        ds.reset();
        hooks.finish();
      } else endWith(LocalReplies.timeout());
    }, timeoutMs);
  }
  attempt();
  return () => {
    if (finished) return;
    current?.abort();
    release();
  };
}

function originalDstHeader(ctx: RequestContext, cluster: Cluster): string | undefined {
  if (!cluster.config.useHttpHeaderForOriginalDst) return undefined;
  const v = ctx.headers["x-envoy-original-dst-host"];
  return typeof v === "string" ? v : undefined;
}

function noop(): void {}
