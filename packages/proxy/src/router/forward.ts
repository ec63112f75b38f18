// The router filter's upstream half: cluster and host selection, circuit
// breaking, path/host rewrites, retries (route.v3.RetryPolicy with Envoy's
// back-off and host predicates), per-try and global timeouts, mirroring,
// passive health reporting, streaming the response back, per-cluster stats.
//
// One RouterRequest per request and one UpstreamAttempt per try
// (upstream-attempt.ts) hold the state, with methods instead of closures: the
// request lives as long as the upstream takes to answer, so what it holds is
// what each request in flight costs the young-generation collector.
import type { Downstream } from "../http/downstream.js";
import type { HcmRuntime } from "../http/hcm-runtime.js";
import type { Headers, RequestContext } from "../http/request-context.js";
import { LocalReplies, type LocalReply } from "../http/local-reply.js";
import type { CompiledRoute, CompiledRouteConfig } from "../runtime/compile-route-config.js";
import type { Host } from "../upstream/host.js";
import type { Cluster } from "../upstream/cluster.js";
import type { ClusterStats } from "../upstream/cluster-stats.js";
import type { ResourceManager } from "../upstream/resource-manager.js";
import type { UpstreamError, UpstreamStream } from "../upstream/upstream-stream.js";
import { applyHeaderMutation, type HeaderMutation } from "./header-mutation.js";
import type { RouteForwardSpec } from "./route-action.js";
import { computeHash, selectCluster } from "./select-route.js";
import { createRetryState, type AttemptFailure, type RetryState } from "./retry-state.js";
import { createReplayBody, type ReplayBody } from "./replay-body.js";
import { startMirrors } from "./mirror.js";
import { consumeRouterHeaders, failureReply, headerMs } from "./forward-support.js";
import { UpstreamAttempt } from "./upstream-attempt.js";
import { countRequestChunk } from "./request-body-meter.js";
import { deadlineList, type DeadlineEntry, type DeadlineList } from "../timers/deadline-list.js";

type WeightedCluster = NonNullable<RouteForwardSpec["weighted"]>[number];

/** Envoy's default per_connection_buffer_limit_bytes, which bounds the body kept for retries and shadows. */
const DEFAULT_BUFFER_LIMIT = 1024 * 1024;

export interface ForwardHooks {
  localReply(r: LocalReply): void;
  finishResponseHeaders(status: number, headers: Headers, weighted?: { responseHeaders: HeaderMutation }): void;
  finish(): void;
}

/** The upstream half of a request in flight; abort() when the downstream went away. */
export interface UpstreamCall {
  abort(): void;
}

/** Starts the upstream exchange; undefined when it ended at once (a local reply was sent). */
export function forwardUpstream(
  ctx: RequestContext,
  ds: Downstream,
  spec: RouteForwardSpec,
  route: CompiledRoute,
  rc: CompiledRouteConfig,
  rt: HcmRuntime,
  hooks: ForwardHooks,
): UpstreamCall | undefined {
  const { name, weightedIndex } = selectCluster(spec, ctx, rt.random);
  const cluster = name ? rt.cluster(name) : undefined;
  if (name) ctx.info.upstreamCluster = name;
  if (!cluster || !cluster.warm) {
    rt.stats.noCluster.inc();
    hooks.localReply(LocalReplies.clusterNotFound(spec.clusterNotFoundStatus));
    return undefined;
  }
  const weighted = weightedIndex >= 0 ? spec.weighted![weightedIndex] : undefined;
  const h = ctx.headers;
  // Envoy's order: weighted cluster, route, virtual host, route configuration.
  if (weighted) applyHeaderMutation(h, weighted.requestHeaders, ctx);
  applyHeaderMutation(h, route.requestHeaders, ctx);
  applyHeaderMutation(h, route.vhost.requestHeaders, ctx);
  applyHeaderMutation(h, rc.requestHeaders, ctx);

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
  const authority = spec.hostRewriteLiteral || ctx.authority;
  const retry = createRetryState(spec.retryPolicy ?? route.vhost.retryPolicy, ctx, rt.random);
  const stats = cluster.stats;
  // x-envoy-upstream-rq-timeout-ms / -per-try-timeout-ms (internal requests only: the HCM strips them from others).
  const timeoutHeaderMs = headerMs(h["x-envoy-upstream-rq-timeout-ms"]);
  const timeoutMs = timeoutHeaderMs ?? spec.timeoutMs;
  const perTryHeaderMs = headerMs(h["x-envoy-upstream-rq-per-try-timeout-ms"]);
  consumeRouterHeaders(h, timeoutHeaderMs !== undefined);
  const rm = cluster.resources(spec.priority);
  if (!rm.requests.canCreate()) {
    // max_requests: Envoy counts this overflow as upstream_rq_pending_overflow too.
    stats.rqPendingOverflow.inc();
    hooks.localReply(LocalReplies.overflow(!rt.config.suppressEnvoyHeaders));
    return undefined;
  }
  rm.requests.inc();
  stats.rqActive.inc();
  // The body is kept for replays only when a retry or a mirror may need it.
  const replay =
    ds.body !== null && (retry !== undefined || spec.mirrors.length > 0)
      ? createReplayBody(ds.body, spec.bufferLimitBytes ?? DEFAULT_BUFFER_LIMIT, (chunk) => countRequestChunk(ctx.info, chunk), () => stats.retryOrShadowAbandoned.inc())
      : undefined;
  if (spec.mirrors.length) {
    startMirrors(spec.mirrors, ctx, { method: ctx.method, path, authority, headers: { ...h }, timeoutMs }, replay ?? null, { cluster: (n) => rt.cluster(n), random: rt.random });
  }
  const req = new RouterRequest(ctx, ds, spec, route, cluster, rm, hooks, weighted, path, authority, retry, replay, timeoutMs, perTryHeaderMs, !rt.config.suppressEnvoyHeaders);
  req.startAttempt();
  return req;
}

/** One request's upstream side, across its attempts. */
export class RouterRequest implements UpstreamCall, DeadlineEntry {
  dlPrev: DeadlineEntry | null = null;
  dlNext: DeadlineEntry | null = null;
  dlAt = 0;
  finished = false;
  responseStarted = false;
  /** Set when a retry was wanted but none was left (URX) or the retry circuit breaker said no (UO). */
  noRetryFlag: "URX" | "UO" | undefined = undefined;
  current: UpstreamAttempt | undefined = undefined;
  readonly stats: ClusterStats;
  readonly perTryMs: number;
  /** per_try_idle_timeout: no upstream bytes for this long within one attempt. */
  readonly perTryIdleMs: number;
  private readonly hash: number | undefined;
  readonly protocol: "http1" | "http2";
  /** The route timeout's deadlines (shared by every request with this timeout). */
  private readonly deadlines: DeadlineList | undefined;
  private retryTimer: NodeJS.Timeout | undefined = undefined;

  constructor(
    readonly ctx: RequestContext,
    readonly ds: Downstream,
    readonly spec: RouteForwardSpec,
    readonly route: CompiledRoute,
    readonly cluster: Cluster,
    private readonly rm: ResourceManager,
    readonly hooks: ForwardHooks,
    /** The weighted cluster picked, when the route splits traffic (its header mutations apply too). */
    readonly weighted: WeightedCluster | undefined,
    readonly path: string,
    readonly authority: string,
    readonly retry: RetryState | undefined,
    readonly replay: ReplayBody | undefined,
    private readonly timeoutMs: number,
    perTryHeaderMs: number | undefined,
    /** The router's x-envoy-* debug headers (off under suppress_envoy_headers). */
    readonly envoyHeaders: boolean,
  ) {
    this.stats = cluster.stats;
    this.perTryMs = perTryHeaderMs ?? retry?.policy.perTryTimeoutMs ?? 0;
    this.perTryIdleMs = retry?.policy.perTryIdleTimeoutMs ?? 0;
    this.hash = computeHash(spec.hashPolicy, ctx);
    const p = cluster.config.protocol;
    this.protocol = p === "downstream" ? (ds.protocol === "HTTP/2" ? "http2" : "http1") : p;
    this.deadlines = timeoutMs > 0 ? deadlineList(timeoutMs) : undefined;
    this.deadlines?.add(this);
  }

  /** x-envoy-expected-rq-timeout-ms: the per-try timeout when shorter, else the global one. */
  expectedTimeoutMs(): number {
    const { perTryMs, timeoutMs } = this;
    return perTryMs > 0 && (timeoutMs === 0 || perTryMs < timeoutMs) ? perTryMs : timeoutMs;
  }

  startAttempt(): void {
    const { ctx, cluster, retry } = this;
    const host = cluster.pickHost(this.hash, ctx.originalDst ?? originalDstHeader(ctx, cluster), retry?.rejectHost, retry?.policy.hostSelectionRetryMaxAttempts);
    if (!host) return this.endWith(LocalReplies.noHealthyUpstream());
    retry?.attempted(host);
    host.activeRequests++;
    host.rqTotal++;
    ctx.info.upstreamHost = host.key;
    ctx.info.upstreamWorkload = host.istioWorkload;
    const body = this.replay ? this.replay.open() : this.ds.body;
    if (body === null && this.ds.body !== null) {
      host.activeRequests--;
      return this.endWith(LocalReplies.reset(true));
    }
    const attempt = new UpstreamAttempt(this, host, ctx.attempt, body);
    this.current = attempt;
    attempt.admit();
  }

  abort(): void {
    if (this.finished) return;
    this.current?.abortStream();
    this.release();
  }

  /** Schedules a retry if one is left, allowed and possible; false leaves the current outcome standing. */
  tryRetry(): boolean {
    const { retry, stats, rm } = this;
    if (!retry || this.responseStarted || this.ds.closed) return false;
    if (retry.remaining <= 0) {
      if (retry.policy.numRetries > 0) stats.rqRetryLimitExceeded.inc();
      this.noRetryFlag = "URX";
      return false;
    }
    if (this.replay?.overflowed) return false;
    if (!rm.retries.canCreate()) {
      // max_retries / retry_budget circuit breaker.
      stats.rqRetryOverflow.inc();
      this.noRetryFlag = "UO";
      return false;
    }
    retry.remaining--;
    retry.used++;
    stats.rqRetry.inc();
    stats.rqRetryBackoffExponential.inc();
    rm.retries.inc();
    this.current?.end();
    this.current = undefined;
    this.retryTimer = setTimeout(retryNow, retry.nextBackoffMs(), this);
    return true;
  }

  /** The back-off is over: the next attempt (unless the request ended meanwhile). */
  retryNow(): void {
    this.rm.retries.dec();
    if (this.finished) return;
    this.ctx.attempt++;
    this.startAttempt();
  }

  /** An attempt failed before a response: retry when the policy says so, else the local reply. */
  failAttempt(host: Host, f: AttemptFailure, err: UpstreamError | undefined): void {
    const { cluster, stats, retry } = this;
    cluster.reportLocal(host, f === "connect_failure" ? "connect_failed" : f === "per_try_timeout" || f === "per_try_idle_timeout" ? "timeout" : "reset");
    if (f === "per_try_timeout") stats.rqPerTryTimeout.inc();
    if (f === "per_try_idle_timeout") stats.rqPerTryIdleTimeout.inc();
    if (retry?.wouldRetryFailure(f) && this.tryRetry()) return;
    host.rqError++;
    const r = failureReply(f, err, (retry?.used ?? 0) > 0);
    if (this.noRetryFlag === "URX" || this.noRetryFlag === "UO") {
      // Envoy records the failure's own flag, then why it stopped retrying (e.g. UF,URX).
      if (r.flag) this.ctx.info.responseFlags.push(r.flag);
      r.flag = this.noRetryFlag;
    }
    this.endWith(r);
  }

  /** The request is over upstream: timers, the attempt's slot and the circuit breakers are released. */
  release(): void {
    if (this.finished) return;
    this.finished = true;
    this.deadlines?.remove(this);
    clearTimeout(this.retryTimer);
    this.current?.end();
    this.rm.requests.dec();
    this.stats.rqActive.dec();
    this.replay?.close();
  }

  endWith(r: LocalReply): void {
    this.release();
    this.hooks.localReply(r);
  }

  /** Too late to answer (the response started): reset the downstream stream, flagged. */
  resetDownstream(flag: string): void {
    this.ctx.info.responseFlags.push(flag);
    this.release();
    this.ds.reset();
    this.hooks.finish();
  }

  /** The route's timeout: the whole upstream exchange, across retries. */
  deadlineReached(): void {
    if (this.finished) return;
    const attempt = this.current;
    attempt?.abortStream();
    this.stats.rqTimeout.inc();
    if (attempt) this.cluster.reportLocal(attempt.host, "timeout");
    if (this.responseStarted) this.resetDownstream("UT");
    else this.endWith(LocalReplies.timeout());
  }

  /** The stream of the attempt in flight, to resume it when the downstream drained. */
  currentStream(): UpstreamStream | undefined {
    return this.current?.stream;
  }
}

function retryNow(r: RouterRequest): void {
  r.retryNow();
}

function originalDstHeader(ctx: RequestContext, cluster: Cluster): string | undefined {
  if (!cluster.config.useHttpHeaderForOriginalDst) return undefined;
  const v = ctx.headers["x-envoy-original-dst-host"];
  return typeof v === "string" ? v : undefined;
}
