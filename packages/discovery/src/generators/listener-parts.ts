// Pieces every listener generator shares: Istio's HTTP connection manager
// defaults, the telemetry class of a chain, and the tcp_proxy network filter.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { ProxyInfo } from "../contracts.js";
import type { MeshPushContext } from "../push-context/push-context.js";
import { REQUEST_ID_EXTENSION, SIDECAR_HTTP_FILTERS, TRACING, typed } from "./envoy-json.js";
import { type ListenerClass, withHttpTelemetry } from "./telemetry-filters.js";

export const HCM = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";

/**
 * istiod's defaultGatewayTransportSocketConnectTimeout: on gateway TLS chains and on every
 * chain of a sidecar's outbound listeners (buildListenerFromEntry), so a client that stalls
 * its TLS handshake cannot hold a connection open.
 */
export const HANDSHAKE_TIMEOUT = { transport_socket_connect_timeout: "15s" } as const;

/** The listener class a chain's telemetry filters are for, and whether istio.stats is on for it (Telemetry API). */
export interface Telemetry {
  cls: ListenerClass;
  stats: boolean;
}

export function telemetryFor(push: MeshPushContext, proxy: ProxyInfo, cls: ListenerClass): Telemetry {
  const m = push.scope(proxy).metrics;
  return { cls, stats: cls === "inbound" ? m.server : m.client };
}

export function hcm(body: JsonObject, log: JsonValue[] | undefined, t: Telemetry): JsonObject {
  return {
    name: "envoy.filters.network.http_connection_manager",
    typed_config: typed(HCM, {
      ...body,
      http_filters: withHttpTelemetry((body.http_filters as JsonValue[] | undefined) ?? SIDECAR_HTTP_FILTERS, t.cls, t.stats),
      tracing: TRACING,
      upgrade_configs: [{ upgrade_type: "websocket" }],
      stream_idle_timeout: "0s",
      normalize_path: true,
      request_id_extension: REQUEST_ID_EXTENSION,
      path_with_escaped_slashes_action: "KEEP_UNCHANGED",
      ...(log ? { access_log: log } : {}),
    }),
  };
}

export function tcpFilter(target: JsonObject, log: JsonValue[] | undefined): JsonObject {
  return { name: "envoy.filters.network.tcp_proxy", typed_config: typed("envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", { ...target, ...(log ? { access_log: log } : {}) }) };
}

