// Test helpers for the authz filters: a connection and a request context
// without sockets, and RBAC configs from Envoy JSON.
import { fromEnvoyJson } from "@weft/xds-api";
import { RBACSchema, type RBAC } from "@weft/xds-api/gen/envoy/config/rbac/v3/rbac_pb.js";
import { newContext } from "../http/connection-manager.js";
import type { RequestContext } from "../http/request-context.js";
import type { ConnInfo, DownstreamTls } from "../listener/conn-info.js";

export function testConn(o: Partial<ConnInfo> = {}): ConnInfo {
  return {
    remoteIp: "10.0.0.5",
    remotePort: 40000,
    localAddress: "10.0.0.9:8080",
    remoteAddress: "10.0.0.5:40000",
    transportProtocol: "raw_buffer",
    listenerName: "l",
    ...o,
  };
}

export function testTls(o: Partial<DownstreamTls> = {}): DownstreamTls {
  return { peerDnsSans: [], peerSubject: "", version: "TLSv1.3", cipher: "TLS_AES_128_GCM_SHA256", ...o };
}

export function testRequest(o: { method?: string; path?: string; authority?: string; headers?: Record<string, string>; conn?: ConnInfo } = {}): RequestContext {
  return newContext(o.method ?? "GET", o.path ?? "/", o.authority ?? "example.com", "http", "HTTP/1.1", { ...(o.headers ?? {}) }, o.conn ?? testConn());
}

export function rbac(json: unknown): RBAC {
  return fromEnvoyJson(RBACSchema, json as never);
}
