// Small builders for recurring pieces of Envoy JSON, named after the Envoy
// fields they fill. `@type` URLs are Envoy's extension types.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";

export const ADS_CONFIG_SOURCE: JsonObject = { ads: {}, initial_fetch_timeout: "0s", resource_api_version: "V3" };

export function socketAddress(address: string, port: number): JsonObject {
  return { socket_address: { address, port_value: port } };
}

export function typed(type: string, body: JsonObject = {}): JsonObject {
  return { "@type": `type.googleapis.com/${type}`, ...body };
}

export function tcpProxy(statPrefix: string, cluster: string, accessLog?: JsonValue[]): JsonObject {
  return {
    name: "envoy.filters.network.tcp_proxy",
    typed_config: typed("envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", { stat_prefix: statPrefix, cluster, ...(accessLog ? { access_log: accessLog } : {}) }),
  };
}

export const ROUTER_FILTER: JsonObject = { name: "envoy.filters.http.router", typed_config: typed("envoy.extensions.filters.http.router.v3.Router") };
export const FAULT_FILTER: JsonObject = { name: "envoy.filters.http.fault", typed_config: typed("envoy.extensions.filters.http.fault.v3.HTTPFault") };
export const CORS_FILTER: JsonObject = { name: "envoy.filters.http.cors", typed_config: typed("envoy.extensions.filters.http.cors.v3.Cors") };

/** Istio's sidecar HTTP filters after authn/authz and ALPN; telemetry-filters.ts adds peer metadata and istio.stats around them. */
export const SIDECAR_HTTP_FILTERS: JsonValue[] = [FAULT_FILTER, CORS_FILTER, ROUTER_FILTER];

export const REQUEST_ID_EXTENSION: JsonObject = {
  typed_config: typed("envoy.extensions.request_id.uuid.v3.UuidRequestIdConfig", { use_request_id_for_trace_sampling: true }),
};

/** HCM tracing as Istio sets it (sampling %, no provider: headers are propagated and x-request-id drives sampling). */
export const TRACING: JsonObject = { client_sampling: { value: 100 }, random_sampling: { value: 1 }, overall_sampling: { value: 100 } };

// Envoy's default format with Istio's additions, as meshConfig.accessLogFormat's default.
const ISTIO_TEXT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER% %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%\n';

// Istio's JSON access log keys (EnvoyJSONLogFormatIstio).
const ISTIO_JSON_FORMAT: JsonObject = {
  start_time: "%START_TIME%",
  method: "%REQ(:METHOD)%",
  path: "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
  protocol: "%PROTOCOL%",
  response_code: "%RESPONSE_CODE%",
  response_flags: "%RESPONSE_FLAGS%",
  response_code_details: "%RESPONSE_CODE_DETAILS%",
  connection_termination_details: "%CONNECTION_TERMINATION_DETAILS%",
  upstream_transport_failure_reason: "%UPSTREAM_TRANSPORT_FAILURE_REASON%",
  bytes_received: "%BYTES_RECEIVED%",
  bytes_sent: "%BYTES_SENT%",
  duration: "%DURATION%",
  upstream_service_time: "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%",
  x_forwarded_for: "%REQ(X-FORWARDED-FOR)%",
  user_agent: "%REQ(USER-AGENT)%",
  request_id: "%REQ(X-REQUEST-ID)%",
  authority: "%REQ(:AUTHORITY)%",
  upstream_host: "%UPSTREAM_HOST%",
  upstream_cluster: "%UPSTREAM_CLUSTER%",
  upstream_local_address: "%UPSTREAM_LOCAL_ADDRESS%",
  downstream_local_address: "%DOWNSTREAM_LOCAL_ADDRESS%",
  downstream_remote_address: "%DOWNSTREAM_REMOTE_ADDRESS%",
  requested_server_name: "%REQUESTED_SERVER_NAME%",
  route_name: "%ROUTE_NAME%",
};

/** `access_log` for a listener/HCM/tcp_proxy when meshConfig.accessLogFile is set, else undefined. */
export function accessLog(file: string | undefined, encoding: "TEXT" | "JSON"): JsonValue[] | undefined {
  if (!file) return undefined;
  const logFormat: JsonObject = encoding === "JSON" ? { json_format: ISTIO_JSON_FORMAT } : { text_format_source: { inline_string: ISTIO_TEXT_FORMAT } };
  return [{ name: "envoy.access_loggers.file", typed_config: typed("envoy.extensions.access_loggers.file.v3.FileAccessLog", { path: file, log_format: logFormat }) }];
}

/** Istio's max-everything circuit breaker defaults (4294967295 = no limit). */
export const DEFAULT_THRESHOLDS: JsonObject = {
  max_connections: 4294967295,
  max_pending_requests: 4294967295,
  max_requests: 4294967295,
  max_retries: 4294967295,
  track_remaining: true,
};
