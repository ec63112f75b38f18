// The router filter's upstream half: cluster and host selection, circuit
// breaking, path/host rewrites, retries (basic policy), timeouts, streaming the
// response back, and per-cluster stats.
import type { Downstream } from "../http/downstream.js";
import type { HcmRuntime } from "../http/hcm-runtime.js";
import type { Headers, RequestContext } from "../http/request-context.js";
import { LocalReplies, type LocalReply } from "../http/local-reply.js";
import type { CompiledRoute, CompiledRouteConfig } from "../runtime/compile-route-config.js";
import type { Host } from "../upstream/host.js";
import type { Cluster } from "../upstream/cluster.js";
import type { UpstreamError, UpstreamHeaders, UpstreamStream } from "../upstream/upstream-stream.js";
import { applyHeaderMutation, type HeaderMutation } from "./header-mutation.js";
import type { RetryPolicySpec, RouteForwardSpec } from "./route-action.js";
import { computeHash, selectCluster } from "./select-route.js";

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

  const retry: RetryPolicySpec | undefined = spec.retryPolicy ?? route.vhost.retryPolicy;
  // Retries replay the request. Without request buffering a request with a body can only be
  // retried while none of it has been consumed (e.g. the connection failed before sending).
  const maxRetries = retry ? retry.numRetries : 0;
  const includeAttempt = route.vhost.includeRequestAttemptCount;
  const hash = computeHash(spec.hashPolicy, ctx);
  const protocol = cluster.config.protocol === "downstream" ? (ds.protocol === "HTTP/2" ? "http2" : "http1") : cluster.config.protocol;
  const stats = cluster.stats;
  const info = ctx.info;

  if (cluster.activeRequests >= cluster.config.maxRequests) {
    stats.rqPendingOverflow.inc();
    hooks.localReply(LocalReplies.overflow());
    return noop;
  }
  cluster.activeRequests++;
  stats.rqActive.inc();

  let finished = false;
  let current: UpstreamStream | undefined;
  let currentHost: Host | undefined;
  let globalTimer: NodeJS.Timeout | undefined;
  let tryTimer: NodeJS.Timeout | undefined;
  let retriesLeft = maxRetries;
  let responseStarted = false;

  const release = (): void => {
    if (finished) return;
    finished = true;
    clearTimeout(globalTimer);
    clearTimeout(tryTimer);
    cluster.activeRequests--;
    stats.rqActive.dec();
    if (currentHost) currentHost.activeRequests--;
  };

  const endWith = (r: LocalReply): void => {
    release();
    hooks.localReply(r);
  };

  const countResponse = (status: number): void => {
    stats.rqTotal.inc();
    stats.byCode(status).inc();
    if (status >= 500) stats.rq5xx.inc();
    else if (status >= 400) stats.rq4xx.inc();
    else if (status >= 300) stats.rq3xx.inc();
    else if (status >= 200) stats.rq2xx.inc();
  };

  const canRetry = (c: Cluster): boolean => {
    if (retriesLeft <= 0 || responseStarted) return false;
    if (ds.body !== null && info.bytesReceived > 0) return false;
    if (c.activeRetries >= c.config.maxRetries) {
      // Retry budget (circuit breaker max_retries) exhausted: the current outcome stands.
      c.stats.rqRetryOverflow.inc();
      return false;
    }
    return true;
  };

  const scheduleRetry = (): void => {
    retriesLeft--;
    stats.rqRetry.inc();
    cluster.activeRetries++;
    // Envoy's default back-off: 25 ms base, jittered.
    const delay = Math.floor(rt.random() * 25 * (2 ** (maxRetries - retriesLeft) - 1)) + 1;
    setTimeout(() => {
      cluster.activeRetries--;
      if (!finished) attempt();
    }, delay);
  };

  const countBody = (n: number): void => {
    info.bytesReceived += n;
  };

  const attempt = (): void => {
    if (currentHost) {
      currentHost.activeRequests--;
      currentHost = undefined;
    }
    const host = cluster.pickHost(hash, ctx.originalDst ?? originalDstHeader(ctx, cluster));
    if (!host) return endWith(LocalReplies.noHealthyUpstream());
    currentHost = host;
    host.activeRequests++;
    host.rqTotal++;
    info.upstreamHost = host.key;
    if (includeAttempt) h["x-envoy-attempt-count"] = String(ctx.attempt);
    const perTry = retry?.perTryTimeoutMs ?? 0;
    const timeoutMs = spec.timeoutMs;
    if (timeoutMs > 0 || perTry > 0) h["x-envoy-expected-rq-timeout-ms"] = String(perTry > 0 && (timeoutMs === 0 || perTry < timeoutMs) ? perTry : timeoutMs);
    const auth = spec.autoHostRewrite && host.hostname ? host.hostname : authority;
    h["host"] = auth;
    const sentAt = Date.now();
    const myAttempt = ctx.attempt;
    const pool = cluster.pool(host, protocol);

    const retryOrFail = (r: LocalReply, retriable: boolean): void => {
      if (retriable && canRetry(cluster)) {
        ctx.attempt++;
        return scheduleRetry();
      }
      if (retriable && maxRetries > 0 && retriesLeft === 0) {
        // Retries exhausted: Envoy reports the failure flag then URX (flag order UF,URX).
        if (r.flag) info.responseFlags.push(r.flag);
        r.flag = "URX";
      }
      host.rqError++;
      endWith(r);
    };

    if (perTry > 0) {
      clearTimeout(tryTimer);
      tryTimer = setTimeout(() => {
        if (finished || responseStarted || myAttempt !== ctx.attempt) return;
        current?.abort();
        stats.rqTimeout.inc();
        const retriable = !!retry && (retry.on5xx || retry.onGatewayError);
        if (retriable && canRetry(cluster)) {
          ctx.attempt++;
          return scheduleRetry();
        }
        host.rqError++;
        endWith(LocalReplies.timeout());
      }, perTry);
    }

    current = pool.request(
      { method: ctx.method, path, authority: auth, scheme: ctx.scheme, headers: h, body: ds.body, onBodyBytes: countBody },
      {
        onHeaders(status: number, headers: UpstreamHeaders, endStream: boolean) {
          if (finished || myAttempt !== ctx.attempt) return;
          if (retry && isRetriableStatus(retry, status) && canRetry(cluster)) {
            countResponse(status);
            current?.abort();
            ctx.attempt++;
            return scheduleRetry();
          }
          responseStarted = true;
          clearTimeout(tryTimer);
          countResponse(status);
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
          if (retry && isRetriableStatus(retry, status) && maxRetries > 0 && retriesLeft === 0) info.responseFlags.push("URX");
          ds.respond(status, out, endStream, grpc && ds.protocol === "HTTP/2");
          if (endStream) {
            release();
            hooks.finish();
          }
        },
        onData(chunk: Buffer) {
          if (finished) return true;
          info.bytesSent += chunk.length;
          const ok = ds.write(chunk);
          if (!ok) ds.onDrain(() => current?.resume());
          return ok;
        },
        onEnd(trailers) {
          if (finished) return;
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
          if (responseStarted) {
            info.responseFlags.push(err.failure === "connection_termination" ? "UC" : "UR");
            info.upstreamTransportFailureReason = err.transportReason || undefined;
            release();
            ds.reset();
            hooks.finish();
            return;
          }
          info.upstreamTransportFailureReason = err.transportReason || undefined;
          const retried = maxRetries > 0;
          switch (err.failure) {
            case "connection_failure":
              return retryOrFail(LocalReplies.connectFailure(err.transportReason, retried), !!retry?.onConnectFailure);
            case "connection_termination":
              return retryOrFail(LocalReplies.connectionTermination(retried), !!retry?.onReset);
            case "overflow":
              return endWith(LocalReplies.overflow());
            default:
              return retryOrFail(LocalReplies.reset(retried), !!retry?.onReset || !!retry?.onRefusedStream);
          }
        },
      },
    );
  };

  if (spec.timeoutMs > 0) {
    globalTimer = setTimeout(() => {
      if (finished) return;
      current?.abort();
      stats.rqTimeout.inc();
      if (responseStarted) {
        info.responseFlags.push("UT");
        release();
        ds.reset();
        hooks.finish();
      } else endWith(LocalReplies.timeout());
    }, spec.timeoutMs);
  }
  attempt();
  return () => {
    if (finished) return;
    current?.abort();
    release();
  };
}

function isRetriableStatus(r: RetryPolicySpec, status: number): boolean {
  if (r.on5xx && status >= 500) return true;
  if (r.onGatewayError && (status === 502 || status === 503 || status === 504)) return true;
  return r.onRetriableStatusCodes && r.retriableStatusCodes.has(status);
}

function originalDstHeader(ctx: RequestContext, cluster: Cluster): string | undefined {
  if (!cluster.config.useHttpHeaderForOriginalDst) return undefined;
  const v = ctx.headers["x-envoy-original-dst-host"];
  return typeof v === "string" ? v : undefined;
}

function noop(): void {}
