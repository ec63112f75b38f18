// HTTP/1.1 Upgrade (WebSocket): route the upgrade request like any other, then
// splice the downstream and upstream sockets. Envoy answers 403 when the
// upgrade type is not enabled in upgrade_configs.
import type { IncomingMessage } from "node:http";
import * as net from "node:net";
import type { ConnInfo } from "../listener/conn-info.js";
import type { HcmRuntime } from "./hcm-runtime.js";
import { isHopByHop } from "./downstream.js";
import type { Headers, RequestContext } from "./request-context.js";
import { LocalReplies, type LocalReply } from "./local-reply.js";
import { mutateRequestHeaders } from "./request-headers.js";
import { selectCluster, selectRoute, computeHash } from "../router/select-route.js";
import { redirectLocation } from "./http-stream.js";
import { applyHeaderMutation } from "../router/header-mutation.js";
import { applyTcpKeepalive } from "../upstream/tcp-keepalive.js";
import { settleSocketWireBytes } from "./wire-bytes.js";

type NewContext = (method: string, path: string, authority: string, scheme: string, protocol: string, headers: Headers, conn: ConnInfo) => RequestContext;

const STATUS_TEXT: Record<number, string> = { 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 500: "Internal Server Error", 503: "Service Unavailable", 504: "Gateway Timeout" };

export function handleWebSocketUpgrade(
  req: IncomingMessage,
  socket: net.Socket,
  head: Buffer,
  conn: ConnInfo,
  rt: HcmRuntime,
  newContext: NewContext,
): void {
  const parsed: Headers = {};
  for (const k in req.headers) if (k !== "host" && !isHopByHop(k)) parsed[k] = req.headers[k];
  const ctx = newContext(req.method ?? "GET", req.url ?? "/", req.headers.host ?? "", "http", "HTTP/1.1", parsed, conn);
  // The connection manager may hand over validated, normalized headers instead of `parsed`.
  const headers = ctx.headers;
  const info = ctx.info;
  rt.stats.rqTotal.inc();
  rt.stats.rqHttp1.inc();
  let logged = false;
  const log = (): void => {
    if (logged) return;
    logged = true;
    info.durationMs = Date.now() - info.startTime;
    // The upgrade's head and everything tunnelled since, both ways, as the socket counted them.
    settleSocketWireBytes(socket, info);
    const code = info.responseCode ?? 0;
    if (code >= 100 && code < 600) rt.stats.rqXx[Math.floor(code / 100)].inc();
    for (const f of rt.config.filters) f.onStreamComplete?.(ctx);
    for (const l of rt.config.accessLoggers) l.log(info);
  };
  const reply = (r: LocalReply): void => {
    info.responseCode = r.status;
    info.responseCodeDetails = r.details;
    if (r.flag) info.responseFlags.push(r.flag);
    const body = r.body;
    let extra = "";
    // Filter replies carry headers (jwt_authn's www-authenticate, ext_authz's client headers).
    if (r.headers) for (const k in r.headers) if (!/[\r\n]/.test(k + r.headers[k])) extra += `${k}: ${r.headers[k]}\r\n`;
    socket.end(
      `HTTP/1.1 ${r.status} ${STATUS_TEXT[r.status] ?? ""}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
        `${body ? "content-type: text/plain\r\n" : ""}${extra}server: ${rt.config.serverName}\r\nconnection: close\r\n\r\n${body}`,
    );
    log();
  };

  const upgrade = String(req.headers.upgrade ?? "").toLowerCase();
  const rc = rt.routes();
  mutateRequestHeaders(ctx, rt.config, rc?.internalOnlyHeaders);
  const route = rc ? selectRoute(rc, ctx) : undefined;
  if (!route || !rc) return reply(LocalReplies.routeNotFound());
  ctx.route = route;
  info.routeName = route.name;
  // The HTTP filters (rbac, jwt_authn, ext_authz, fault…) see an upgrade request like any
  // other request (Envoy): an Upgrade header must never skip authorization.
  socket.on("error", () => socket.destroy());
  void runDecodeFilters(rt, ctx).then(
    (r) => {
      if (r) reply(r);
      else if (!socket.destroyed) proceed(route, rc);
    },
    (err: unknown) => {
      rt.logger.error({ err }, "upgrade request filters failed");
      reply({ status: 500, body: "", details: "weft_internal_error" });
    },
  );

  function proceed(route: NonNullable<RequestContext["route"]>, rc: NonNullable<ReturnType<HcmRuntime["routes"]>>): void {
    const action = route.action;
    if (action.kind === "redirect") return reply({ ...LocalReplies.directResponse(action.status, ""), headers: { location: redirectLocation(action, ctx, route.matchedPrefix) } });
    if (action.kind !== "route") return reply(LocalReplies.directResponse(action.kind === "direct" ? action.status : 403, ""));
    const enabled = upgrade === "websocket" && (action.websocket ?? rt.config.websocket);
    if (!enabled) {
      rt.stats.rqWsOnNonWsRoute.inc();
      return reply(LocalReplies.upgradeFailed());
    }
    const { name } = selectCluster(action, ctx, rt.random);
    const cluster = name ? rt.cluster(name) : undefined;
    if (name) info.upstreamCluster = name;
    if (!cluster || !cluster.warm) return reply(LocalReplies.clusterNotFound(action.clusterNotFoundStatus));
    const host = cluster.pickHost(computeHash(action.hashPolicy, ctx), ctx.originalDst);
    if (!host) return reply(LocalReplies.noHealthyUpstream());
    info.upstreamHost = host.key;
    const v = ctx;
    applyHeaderMutation(headers, route.requestHeaders, v);
    applyHeaderMutation(headers, route.vhost.requestHeaders, v);
    applyHeaderMutation(headers, rc.requestHeaders, v);
    if (route.vhost.includeRequestAttemptCount) headers["x-envoy-attempt-count"] = "1";

    const up = host.pipe ? net.connect(host.pipe) : net.connect({ host: host.ip, port: host.port, localAddress: cluster.config.sourceAddress });
    applyTcpKeepalive(up, cluster.config.tcpKeepalive);
    host.activeRequests++;
    let connected = false;
    const timer = setTimeout(() => up.destroy(Object.assign(new Error("connect timeout"), { code: "ETIMEDOUT" })), cluster.config.connectTimeoutMs);
    up.once("connect", () => {
      connected = true;
      clearTimeout(timer);
      cluster.stats.cxTotal.inc();
      cluster.stats.cxActive.inc();
      info.upstreamLocalAddress = `${up.localAddress}:${up.localPort}`;
      let head1 = `${ctx.method} ${ctx.path} HTTP/1.1\r\nhost: ${action.hostRewriteLiteral ?? ctx.authority}\r\nconnection: upgrade\r\nupgrade: ${req.headers.upgrade}\r\n`;
      for (const k in headers) {
        const val = headers[k];
        if (val === undefined) continue;
        for (const x of Array.isArray(val) ? val : [val]) head1 += `${k}: ${x}\r\n`;
      }
      up.write(head1 + "\r\n");
      if (head.length) up.write(head);
      up.once("data", (first: Buffer) => {
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(first.subarray(0, 16).toString("latin1"));
        info.responseCode = m ? Number(m[1]) : undefined;
        info.responseCodeDetails = "via_upstream";
        cluster.stats.rqTotal.inc();
        if (info.responseCode) cluster.stats.byCode(info.responseCode).inc();
        info.bytesSent += first.length;
        socket.write(first);
        up.pipe(socket);
        socket.pipe(up);
      });
    });
    up.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (!connected) {
        cluster.stats.cxConnectFail.inc();
        const reason = err.code === "ECONNREFUSED" ? "delayed connect error: 111" : err.code === "ETIMEDOUT" ? "connect timeout" : err.message;
        info.upstreamTransportFailureReason = reason;
        reply(LocalReplies.connectFailure(reason, false));
      } else socket.destroy();
    });
    up.on("close", () => {
      host.activeRequests--;
      if (connected) cluster.stats.cxActive.dec();
      socket.destroy();
      log();
    });
    socket.on("error", () => up.destroy());
    socket.on("close", () => {
      if (!up.destroyed) {
        up.destroy();
      }
    });
  }
}

async function runDecodeFilters(rt: HcmRuntime, ctx: RequestContext): Promise<LocalReply | undefined> {
  for (const f of rt.config.filters) {
    if (!f.decodeHeaders) continue;
    let r = f.decodeHeaders(ctx);
    if (r instanceof Promise) r = await r;
    if (r) return r;
  }
  return undefined;
}
