// Compiles route configs from Envoy JSON and builds request contexts, for router unit tests.
import { fromEnvoyJson } from "@weft/xds-api";
import { RouteConfigurationSchema } from "@weft/xds-api/gen/envoy/config/route/v3/route_pb.js";
import { createDefaultHttpFilters } from "../http/filters/default-filters.js";
import type { ConnInfo, DownstreamTls } from "../listener/conn-info.js";
import { newContext, type Headers, type RequestContext } from "../http/request-context.js";
import { compileRouteConfig, type CompiledRouteConfig } from "../runtime/compile-route-config.js";

export function routeConfig(json: unknown, reports: string[] = []): CompiledRouteConfig {
  const rc = fromEnvoyJson(RouteConfigurationSchema, json as never);
  return compileRouteConfig(rc, { filters: createDefaultHttpFilters(), report: (f) => void reports.push(f) });
}

export function request(init: { authority?: string; path?: string; method?: string; headers?: Headers; remoteIp?: string; tls?: DownstreamTls }): RequestContext {
  const remoteIp = init.remoteIp ?? "127.0.0.1";
  const conn: ConnInfo = {
    remoteIp,
    remotePort: 40000,
    localAddress: "127.0.0.1:80",
    remoteAddress: `${remoteIp}:40000`,
    transportProtocol: init.tls ? "tls" : "raw_buffer",
    listenerName: "test",
    tls: init.tls,
  };
  const ctx = newContext(init.method ?? "GET", init.path ?? "/", init.authority ?? "example.com", "http", "HTTP/1.1", { ...(init.headers ?? {}) }, conn);
  // Router unit tests look at the scheme the request names, whatever the connection's TLS.
  ctx.scheme = "http";
  return ctx;
}
