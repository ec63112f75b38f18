// Compiles route configs from Envoy JSON and builds request contexts, for router unit tests.
import { fromEnvoyJson } from "@weft/xds-api";
import { RouteConfigurationSchema } from "@weft/xds-api/gen/envoy/config/route/v3/route_pb.js";
import { createDefaultHttpFilters } from "../http/filters/default-filters.js";
import type { DownstreamTls } from "../listener/conn-info.js";
import type { Headers, RequestContext } from "../http/request-context.js";
import { compileRouteConfig, type CompiledRouteConfig } from "../runtime/compile-route-config.js";

export function routeConfig(json: unknown, reports: string[] = []): CompiledRouteConfig {
  const rc = fromEnvoyJson(RouteConfigurationSchema, json as never);
  return compileRouteConfig(rc, { filters: createDefaultHttpFilters(), report: (f) => void reports.push(f) });
}

export function request(init: { authority?: string; path?: string; method?: string; headers?: Headers; remoteIp?: string; tls?: DownstreamTls }): RequestContext {
  const remoteIp = init.remoteIp ?? "127.0.0.1";
  return {
    method: init.method ?? "GET",
    path: init.path ?? "/",
    authority: init.authority ?? "example.com",
    scheme: "http",
    protocol: "HTTP/1.1",
    headers: { ...(init.headers ?? {}) },
    downstreamRemoteIp: remoteIp,
    downstreamRemotePort: 40000,
    downstreamLocalAddress: "127.0.0.1:80",
    external: false,
    info: { startTime: 0, responseFlags: [], bytesReceived: 0, bytesSent: 0, downstreamLocalAddress: "127.0.0.1:80", downstreamRemoteAddress: "127.0.0.1:40000" },
    conn: {
      remoteIp,
      remotePort: 40000,
      localAddress: "127.0.0.1:80",
      remoteAddress: `${remoteIp}:40000`,
      transportProtocol: init.tls ? "tls" : "raw_buffer",
      listenerName: "test",
      tls: init.tls,
    },
    attempt: 1,
  };
}
