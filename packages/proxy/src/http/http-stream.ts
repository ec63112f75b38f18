// One HTTP request through the connection manager: header mutation, route
// selection, the filter chain, the router (cluster, host, retries, timeouts),
// the response path, stats and access logs.
import type { Downstream, StreamListener } from "./downstream.js";
import type { HcmRuntime } from "./hcm-runtime.js";
import type { Headers, RequestContext } from "./request-context.js";
import { LocalReplies, type LocalReply } from "./local-reply.js";
import { mutateRequestHeaders } from "./request-headers.js";
import { selectRoute } from "../router/select-route.js";
import { applyHeaderMutation, type HeaderMutation } from "../router/header-mutation.js";
import type { RedirectSpec } from "../router/route-action.js";
import { forwardUpstream, type ForwardHooks, type UpstreamCall } from "../router/forward.js";
import { streamDurationMs } from "./stream-duration.js";
import { grpcStatusForHttp } from "./grpc-status.js";


export function handleStream(ds: Downstream, ctx: RequestContext, rt: HcmRuntime): void {
  new HttpExchange(ds, ctx, rt).start();
}

/**
 * The state of one request between the downstream codec and the router. One
 * object with methods rather than a closure per step: it lives as long as the
 * request does, so its size is what every in-flight request costs the
 * young-generation collector.
 */
class HttpExchange implements ForwardHooks, StreamListener {
  private done = false;
  private upstream: UpstreamCall | undefined = undefined;
  private requestTimer: NodeJS.Timeout | undefined = undefined;
  private durationTimer: NodeJS.Timeout | undefined = undefined;

  constructor(
    private readonly ds: Downstream,
    private readonly ctx: RequestContext,
    private readonly rt: HcmRuntime,
  ) {}

  start(): void {
    const { ds, ctx, rt } = this;
    const stats = rt.stats;
    stats.rqTotal.inc();
    stats.rqActive.inc();
    (ds.protocol === "HTTP/2" ? stats.rqHttp2 : stats.rqHttp1).inc();
    ds.onClose(this);
    if (rt.config.requestTimeoutMs > 0 && ds.body) {
      this.requestTimer = setTimeout(requestTimedOut, rt.config.requestTimeoutMs, this);
      ds.body.once("end", () => clearTimeout(this.requestTimer));
    }
    try {
      // A head refused by validate-request.ts never reaches header mutation, routes or filters.
      if (ctx.rejected) return this.localReply(ctx.rejected);
      const rc = rt.routes();
      mutateRequestHeaders(ctx, rt.config, rc?.internalOnlyHeaders);
      const route = rc ? selectRoute(rc, ctx) : undefined;
      ctx.route = route;
      const routeIdle = route?.action.kind === "route" ? route.action.idleTimeoutMs : 0;
      this.armIdleTimeout(routeIdle > 0 ? routeIdle : rt.config.streamIdleTimeoutMs);
      if (route) ctx.info.routeName = route.name;
      const limitMs = streamDurationMs(route?.action.kind === "route" ? route.action.maxStreamDuration : undefined, rt.config.maxStreamDurationMs, ctx.headers["grpc-timeout"]);
      if (limitMs !== undefined) this.durationTimer = setTimeout(maxDurationReached, Math.max(0, limitMs - (Date.now() - ctx.info.startTime)), this);
      this.runFilters(0);
    } catch (err) {
      this.failed(err);
    }
  }

  finish(): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.requestTimer);
    clearTimeout(this.durationTimer);
    const info = this.ctx.info;
    const stats = this.rt.stats;
    info.durationMs = Date.now() - info.startTime;
    this.ds.settleWireBytes(info);
    stats.rqActive.dec();
    stats.rqCompleted.inc();
    const code = info.responseCode ?? 0;
    if (code >= 100 && code < 600) stats.rqXx[Math.floor(code / 100)].inc();
    stats.rqTime.record(info.durationMs);
    for (const f of this.rt.config.filters) {
      if (f.onStreamComplete === undefined) continue;
      try {
        f.onStreamComplete(this.ctx);
      } catch (err) {
        this.rt.logger.debug({ err, filter: f.name }, "filter threw at stream end");
      }
    }
    for (const l of this.rt.config.accessLoggers) {
      try {
        l.log(info);
      } catch (err) {
        this.rt.logger.debug({ err }, "access logger threw");
      }
    }
  }

  /** Envoy's response header finishing, shared by upstream and local replies. */
  finishResponseHeaders(status: number, headers: Headers, weighted?: { responseHeaders: HeaderMutation }): void {
    const { ctx, rt } = this;
    for (const f of rt.config.filters) f.encodeHeaders?.(ctx, status, headers);
    if (ctx.extraResponseHeaders) {
      for (const k in ctx.extraResponseHeaders) {
        const v = ctx.extraResponseHeaders[k];
        // set-cookie can't be folded or replaced: the proxy's cookies join the upstream's.
        const prev = k === "set-cookie" ? headers[k] : undefined;
        headers[k] = prev === undefined || v === undefined ? v : [...(typeof prev === "string" ? [prev] : prev), ...(typeof v === "string" ? [v] : v)];
      }
    }
    const r = ctx.route;
    if (weighted) applyHeaderMutation(headers, weighted.responseHeaders, ctx);
    if (r) applyHeaderMutation(headers, r.responseHeaders, ctx);
    if (ctx.vhost) {
      applyHeaderMutation(headers, ctx.vhost.responseHeaders, ctx);
      if (ctx.vhost.includeAttemptCountInResponse) headers["x-envoy-attempt-count"] = String(ctx.attempt);
    }
    const rc = rt.routes();
    if (rc) applyHeaderMutation(headers, rc.responseHeaders, ctx);
    const cfg = rt.config;
    if (cfg.serverHeader === "overwrite" || (cfg.serverHeader === "append_if_absent" && headers["server"] === undefined)) headers["server"] = cfg.serverName;
    const reqHeaders = ctx.headers;
    if (cfg.alwaysSetRequestIdInResponse && reqHeaders["x-request-id"] !== undefined) headers["x-request-id"] = reqHeaders["x-request-id"];
    if (rt.draining() && this.ds.protocol !== "HTTP/2") {
      headers["connection"] = "close";
      this.ds.closeAfterResponse();
    }
  }

  localReply(r: LocalReply): void {
    const { ds, ctx } = this;
    const info = ctx.info;
    if (r.flag) info.responseFlags.push(r.flag);
    info.responseCodeDetails = r.details;
    if (ds.headersSent) {
      info.responseCode = info.responseCode ?? r.status;
      ds.reset();
      this.finish();
      return;
    }
    const isGrpc = String(ctx.headers["content-type"] ?? "").startsWith("application/grpc");
    let headers: Headers;
    let status = r.status;
    let body: Buffer | undefined;
    if (isGrpc) {
      // Envoy turns local replies to gRPC requests into trailers-only responses.
      headers = {
        "content-type": "application/grpc",
        "grpc-status": r.grpcStatus ?? grpcStatusForHttp(r.status),
        "grpc-message": encodeURIComponent(r.body || r.details),
      };
      status = 200;
    } else {
      body = r.body ? Buffer.from(r.body) : undefined;
      headers = body ? { "content-length": String(body.length), "content-type": "text/plain" } : { "content-length": "0" };
    }
    headers["date"] = httpDate();
    if (r.headers) Object.assign(headers, r.headers);
    this.finishResponseHeaders(status, headers);
    info.responseCode = status;
    info.responseHeaders = headers;
    const head = ctx.method === "HEAD";
    ds.respond(status, headers, !body || head, false);
    if (body && !head) {
      info.bytesSent += body.length;
      ds.write(body);
      ds.end(undefined);
    }
    if (ds.body && !ds.body.readableEnded) ds.body.resume();
    this.finish();
  }

  downstreamClosed(): void {
    clearTimeout(this.requestTimer);
    if (this.done) return;
    const info = this.ctx.info;
    info.responseFlags.push("DC");
    info.connectionTerminationDetails ??= "downstream_remote_disconnect";
    this.upstream?.abort();
    this.finish();
  }

  /** request_timeout: the whole request (head and body) must arrive within it. */
  requestTimedOut(): void {
    if (this.done) return;
    this.rt.stats.rqTimeout.inc();
    this.upstream?.abort();
    this.localReply(LocalReplies.requestTimeout());
  }

  /** max_stream_duration (the route's, else the HCM's) or the request's grpc-timeout ran out. */
  maxDurationReached(): void {
    if (this.done) return;
    this.rt.stats.rqMaxDurationReached.inc();
    this.upstream?.abort();
    const body = this.ds.body;
    this.localReply(LocalReplies.maxDurationTimeout(!body || body.readableEnded));
  }

  /** stream_idle_timeout (or the route's idle_timeout, which overrides it): no activity in either direction. */
  private armIdleTimeout(ms: number): void {
    if (ms > 0) this.ds.setIdleTimeout(ms, this);
  }

  streamIdleTimedOut(): void {
    if (this.done) return;
    this.rt.stats.rqIdleTimeout.inc();
    this.upstream?.abort();
    if (this.ds.headersSent) {
      this.ctx.info.responseFlags.push("SI");
      this.ds.reset();
      this.finish();
    } else this.localReply({ ...LocalReplies.streamIdleTimeout(), flag: "SI" });
  }

  private failed(err: unknown): void {
    this.rt.logger.error({ err }, "request handling failed");
    if (!this.done) this.localReply({ status: 500, body: "internal error", details: "weft_internal_error" });
  }

  /** The decoder filters from `from` on; synchronous unless a filter answers with a promise. */
  private runFilters(from: number): void {
    const filters = this.rt.config.filters;
    const ctx = this.ctx;
    for (let i = from; i < filters.length; i++) {
      const f = filters[i];
      if (!f.decodeHeaders) continue;
      const r = f.decodeHeaders(ctx);
      if (r instanceof Promise) {
        r.then((res) => {
          if (this.done) return;
          if (res) return this.localReply(res);
          this.runFilters(i + 1);
        }).catch((err: unknown) => this.failed(err));
        return;
      }
      if (this.done) return;
      if (r) return this.localReply(r);
    }
    this.routeRequest();
  }

  private routeRequest(): void {
    const { ctx, rt } = this;
    const route = ctx.route;
    const rc = rt.routes();
    if (!route || !rc) {
      rt.stats.noRoute.inc();
      return this.localReply(LocalReplies.routeNotFound());
    }
    const action = route.action;
    if (action.kind === "direct") {
      ctx.info.responseCodeDetails = "direct_response";
      return this.localReply(LocalReplies.directResponse(action.status, action.body));
    }
    if (action.kind === "redirect") {
      const r = LocalReplies.directResponse(action.status, "");
      r.details = "direct_response";
      r.headers = { location: redirectLocation(action, ctx, route.matchedPrefix) };
      return this.localReply(r);
    }
    this.upstream = forwardUpstream(ctx, this.ds, action, route, rc, rt, this);
  }
}

function maxDurationReached(x: HttpExchange): void {
  x.maxDurationReached();
}

function requestTimedOut(x: HttpExchange): void {
  x.requestTimedOut();
}

export function redirectLocation(r: RedirectSpec, ctx: RequestContext, matchedPrefix: string | undefined): string {
  if (r.ssl) return `https://${ctx.authority}${ctx.path}`;
  const scheme = r.scheme ?? ctx.scheme;
  let host = r.host ?? ctx.authority;
  if (r.port !== undefined || r.host !== undefined) {
    // Envoy keeps the original port unless host/port redirect says otherwise.
    const bare = host.replace(/:\d+$/, "");
    const origPort = /:(\d+)$/.exec(ctx.authority)?.[1];
    const port = r.port ?? (r.host && /:\d+$/.test(r.host) ? undefined : origPort);
    host = port ? `${bare}:${port}` : r.host ?? bare;
  }
  // The default port of the new scheme is dropped (Envoy).
  if ((scheme === "https" && host.endsWith(":443")) || (scheme === "http" && host.endsWith(":80"))) host = host.replace(/:\d+$/, "");
  else if (r.scheme && r.scheme !== ctx.scheme && r.port === undefined) host = host.replace(/:\d+$/, "");
  const q = ctx.path.indexOf("?");
  let path = q < 0 ? ctx.path : ctx.path.slice(0, q);
  let query = q < 0 ? "" : ctx.path.slice(q);
  if (r.path !== undefined) {
    const rq = r.path.indexOf("?");
    if (rq >= 0) {
      query = r.path.slice(rq);
      path = r.path.slice(0, rq);
    } else path = r.path;
  } else if (r.prefixRewrite !== undefined && matchedPrefix !== undefined) {
    path = r.prefixRewrite + path.slice(matchedPrefix.length);
  } else if (r.regexRewrite) {
    path = path.replace(r.regexRewrite.re as unknown as RegExp, r.regexRewrite.substitution);
  }
  if (r.stripQuery) query = "";
  return `${scheme}://${host}${path}${query}`;
}

let cachedDate = "";
let cachedAt = 0;
/** RFC 7231 date for local replies, formatted at most once per second. */
function httpDate(): string {
  const now = Date.now();
  if (now - cachedAt >= 1000) {
    cachedAt = now - (now % 1000);
    cachedDate = new Date(now).toUTCString();
  }
  return cachedDate;
}
