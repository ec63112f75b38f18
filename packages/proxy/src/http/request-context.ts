// Per-request state shared by the HCM, its filters and the router. One object
// per request; headers are Node's already-parsed header object, mutated in place.
import type { StreamInfo } from "../contracts.js";
import type { ConnInfo, DownstreamTls } from "../listener/conn-info.js";
import type { WorkloadMetadata } from "../istio/peer-metadata.js";
import type { UpstreamTlsIdentity } from "../tls/upstream-tls.js";
import type { GrpcMessageCounts } from "../grpc/grpc-message-counter.js";
import type { CompiledRoute, CompiledVirtualHost } from "../runtime/compile-route-config.js";
import type { LocalReply } from "./local-reply.js";
import { isHopByHop } from "./downstream.js";

export type Headers = Record<string, string | string[] | undefined>;

/** ALPN lists the upstream TLS connection offers, by upstream protocol (Istio's istio.alpn filter). */
export interface UpstreamAlpn {
  http10?: string[];
  http1?: string[];
  http2?: string[];
}

export interface RequestContext {
  method: string;
  /** :path including the query string. */
  path: string;
  authority: string;
  scheme: string;
  /** `HTTP/1.1`, `HTTP/2`… */
  protocol: string;
  /** Lower-case, no pseudo-headers, no hop-by-hop headers. */
  headers: Headers;
  downstreamRemoteIp: string;
  downstreamRemotePort: number;
  downstreamLocalAddress: string;
  /** Original destination `ip:port` of the downstream connection (ORIGINAL_DST clusters). */
  originalDst?: string;
  /** True when the request came from an untrusted (external) client (Envoy's "edge"). */
  external: boolean;
  vhost?: CompiledVirtualHost;
  route?: CompiledRoute;
  info: HttpStreamInfo;
  /** The downstream connection (TLS peer identity in `conn.tls`). */
  conn: ConnInfo;
  /** Set by istio.alpn: the ALPN override for upstream TLS connections. */
  upstreamAlpn?: UpstreamAlpn;
  /** Attempt number, starting at 1 (x-envoy-attempt-count). */
  attempt: number;
  /**
   * Set by the connection manager when the request head failed validation
   * (validate-request.ts): the stream answers with this local reply before any
   * filter or route sees the request.
   */
  rejected?: LocalReply;
  /** Response headers added by filters (cors) before the router replies. */
  extraResponseHeaders?: Headers;
}

/** The request's pseudo-headers (and Host, which is :authority) as Envoy's header map holds them. */
function pseudoHeader(ctx: RequestContext, name: string): string | undefined | null {
  switch (name) {
    case ":path":
      return ctx.path;
    case ":method":
      return ctx.method;
    case ":authority":
    case "host":
      return ctx.authority;
    case ":scheme":
      return ctx.scheme;
  }
  return null;
}

/** Header value as Envoy sees it: multiple values joined with ",". */
export function headerValue(ctx: RequestContext, name: string): string | undefined {
  const pseudo = pseudoHeader(ctx, name);
  if (pseudo !== null) return pseudo;
  const v = ctx.headers[name];
  if (v === undefined) return undefined;
  return typeof v === "string" ? v : v.join(",");
}

/** The first of several values, as Envoy's rate limit actions read a header (router_ratelimit.cc: header_value[0]). */
export function firstHeaderValue(ctx: RequestContext, name: string): string | undefined {
  const pseudo = pseudoHeader(ctx, name);
  if (pseudo !== null) return pseudo;
  const v = ctx.headers[name];
  return typeof v === "string" ? v : v?.[0];
}

function joined(h: Headers | undefined, name: string): string | undefined {
  const v = h?.[name];
  return typeof v === "string" ? v : v?.join(",");
}

/**
 * An HTTP request's StreamInfo. The header lookups access logs use are methods
 * reading the exchange's header maps, not closures made for every request: a
 * sidecar keeps one of these per request in flight, and with a small young
 * generation whatever a request holds on to is what the scavenger copies.
 */
export class HttpStreamInfo implements StreamInfo {
  durationMs: number | undefined = undefined;
  responseCode: number | undefined = undefined;
  responseCodeDetails: string | undefined = undefined;
  responseFlags: string[] = [];
  bytesReceived = 0;
  bytesSent = 0;
  /** Set by the downstream codec when the stream ends (Downstream.settleWireBytes). */
  wireBytesReceived = 0;
  wireBytesSent = 0;
  upstreamHost: string | undefined = undefined;
  upstreamCluster: string | undefined = undefined;
  upstreamLocalAddress: string | undefined = undefined;
  upstreamTransportFailureReason: string | undefined = undefined;
  upstreamServiceTimeMs: number | undefined = undefined;
  /** The upstream endpoint's istio.workload metadata (EDS), when it has any. */
  upstreamWorkload: WorkloadMetadata | undefined = undefined;
  /** Set by grpc_stats on a gRPC call: its messages in each direction (Envoy's GrpcStatsObject). */
  grpcMessages: GrpcMessageCounts | undefined = undefined;
  /** URI SANs of the upstream TLS connection the response came on: the upstream's and ours. */
  upstreamTls: UpstreamTlsIdentity | undefined = undefined;
  downstreamDirectRemoteAddress: string;
  routeName: string | undefined = undefined;
  connectionTerminationDetails: string | undefined = undefined;
  dynamicMetadata: Record<string, Record<string, unknown>> | undefined = undefined;
  filterState: Record<string, unknown> | undefined = undefined;
  requestDurationMs: number | undefined = undefined;
  responseDurationMs: number | undefined = undefined;
  healthCheck: boolean | undefined = undefined;
  /** The request these facts are about (its headers answer %REQ()%). */
  ctx: RequestContext | undefined = undefined;
  /** The response head sent downstream, once there is one (%RESP()%). */
  responseHeaders: Headers | undefined = undefined;
  /** The upstream's trailers, when it sent any (%TRAILER()%). */
  responseTrailers: Headers | undefined = undefined;

  constructor(
    public startTime: number,
    public protocol: string,
    public downstreamLocalAddress: string,
    public downstreamRemoteAddress: string,
    public requestedServerName: string | undefined,
    public downstreamTls: DownstreamTls | undefined,
  ) {
    this.downstreamDirectRemoteAddress = downstreamRemoteAddress;
  }

  requestHeader(name: string): string | undefined {
    return this.ctx ? headerValue(this.ctx, name) : undefined;
  }
  responseHeader(name: string): string | undefined {
    return joined(this.responseHeaders, name);
  }
  responseTrailer(name: string): string | undefined {
    return joined(this.responseTrailers, name);
  }
  /**
   * Envoy's RequestHeaderMap byteSize(): every name and value, pseudo-headers included, as the
   * proxy holds them at log time. Envoy's map has no Host, only `:authority` — the one the router
   * sent upstream (host rewrites change it in place), which our router keeps as `host`.
   */
  requestHeadersBytes(): number {
    const ctx = this.ctx;
    if (!ctx) return 0;
    const h = ctx.headers;
    const host = h["host"];
    // ":method" ":path" ":authority" ":scheme"
    let n = 7 + 5 + 10 + 7 + ctx.method.length + ctx.path.length + ctx.scheme.length + headerMapBytes(h);
    // The `host` entry, counted above, is :authority's value under another name.
    if (typeof host === "string") n -= "host".length;
    else n += ctx.authority.length;
    return n;
  }
  /** The response head's byteSize(), `:status` included. */
  responseHeadersBytes(): number {
    const h = this.responseHeaders;
    return h === undefined ? 0 : ":status".length + 3 + headerMapBytes(h);
  }
  responseTrailersBytes(): number {
    return this.responseTrailers === undefined ? 0 : headerMapBytes(this.responseTrailers);
  }
}

/**
 * Names and values of a header map, one entry per value. Pseudo-headers are left to the caller;
 * hop-by-hop fields are not part of Envoy's maps (its codecs consume them, the HCM strips them),
 * while ours may still hold an upstream's until the downstream codec drops them.
 */
function headerMapBytes(h: Headers): number {
  let n = 0;
  for (const k in h) {
    const v = h[k];
    if (v === undefined || k.charCodeAt(0) === 0x3a || isHopByHop(k)) continue;
    if (typeof v === "string") n += k.length + v.length;
    else for (let i = 0; i < v.length; i++) n += k.length + v[i].length;
  }
  return n;
}

/** One request's context; every field exists from the start so all contexts share one shape. */
class HttpRequestContext implements RequestContext {
  vhost: CompiledVirtualHost | undefined = undefined;
  route: CompiledRoute | undefined = undefined;
  upstreamAlpn: UpstreamAlpn | undefined = undefined;
  rejected: LocalReply | undefined = undefined;
  extraResponseHeaders: Headers | undefined = undefined;
  external = false;
  attempt = 1;
  readonly downstreamRemoteIp: string;
  readonly downstreamRemotePort: number;
  readonly downstreamLocalAddress: string;
  readonly originalDst: string | undefined;

  constructor(
    public method: string,
    public path: string,
    public authority: string,
    public scheme: string,
    readonly protocol: string,
    public headers: Headers,
    readonly conn: ConnInfo,
    readonly info: HttpStreamInfo,
  ) {
    this.downstreamRemoteIp = conn.remoteIp;
    this.downstreamRemotePort = conn.remotePort;
    this.downstreamLocalAddress = conn.localAddress;
    this.originalDst = conn.originalDst;
  }
}

/** A request's context and StreamInfo, from its validated head and its connection. */
export function newContext(method: string, path: string, authority: string, scheme: string, protocol: string, headers: Headers, conn: ConnInfo): RequestContext {
  const info = new HttpStreamInfo(Date.now(), protocol, conn.localAddress, conn.remoteAddress, conn.sni, conn.tls);
  // HTTP/1 has no :scheme: Envoy derives it (and x-forwarded-proto) from the connection's TLS.
  const ctx = new HttpRequestContext(method, path, authority, conn.tls && protocol !== "HTTP/2" ? "https" : scheme, protocol, headers, conn, info);
  info.ctx = ctx;
  return ctx;
}
