// Per-request state shared by the HCM, its filters and the router. One object
// per request; headers are Node's already-parsed header object, mutated in place.
import type { StreamInfo } from "../contracts.js";
import type { ConnInfo } from "../listener/conn-info.js";
import type { CompiledRoute, CompiledVirtualHost } from "../runtime/compile-route-config.js";
import type { LocalReply } from "./local-reply.js";

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
  info: StreamInfo;
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

/** Header value as Envoy sees it: multiple values joined with ",". */
export function headerValue(ctx: RequestContext, name: string): string | undefined {
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
  const v = ctx.headers[name];
  if (v === undefined) return undefined;
  return typeof v === "string" ? v : v.join(",");
}
