// Envoy's filter names: the deprecated short names istiod still accepts in
// matches (xds.DeprecatedFilterNames) and, for Istio's deprecated `config`
// form, the typed config a well-known name stands for.

const DEPRECATED: Readonly<Record<string, string>> = {
  "envoy.client_ssl_auth": "envoy.filters.network.client_ssl_auth",
  "envoy.echo": "envoy.filters.network.echo",
  "envoy.ext_authz": "envoy.filters.network.ext_authz",
  "envoy.http_connection_manager": "envoy.filters.network.http_connection_manager",
  "envoy.mongo_proxy": "envoy.filters.network.mongo_proxy",
  "envoy.ratelimit": "envoy.filters.network.ratelimit",
  "envoy.redis_proxy": "envoy.filters.network.redis_proxy",
  "envoy.tcp_proxy": "envoy.filters.network.tcp_proxy",
  "envoy.buffer": "envoy.filters.http.buffer",
  "envoy.cors": "envoy.filters.http.cors",
  "envoy.csrf": "envoy.filters.http.csrf",
  "envoy.ext_authz.http": "envoy.filters.http.ext_authz",
  "envoy.fault": "envoy.filters.http.fault",
  "envoy.grpc_http1_bridge": "envoy.filters.http.grpc_http1_bridge",
  "envoy.grpc_json_transcoder": "envoy.filters.http.grpc_json_transcoder",
  "envoy.grpc_web": "envoy.filters.http.grpc_web",
  "envoy.gzip": "envoy.filters.http.gzip",
  "envoy.health_check": "envoy.filters.http.health_check",
  "envoy.ip_tagging": "envoy.filters.http.ip_tagging",
  "envoy.lua": "envoy.filters.http.lua",
  "envoy.rate_limit": "envoy.filters.http.ratelimit",
  "envoy.router": "envoy.filters.http.router",
  "envoy.squash": "envoy.filters.http.squash",
  "envoy.listener.http_inspector": "envoy.filters.listener.http_inspector",
  "envoy.listener.original_dst": "envoy.filters.listener.original_dst",
  "envoy.listener.original_src": "envoy.filters.listener.original_src",
  "envoy.listener.proxy_protocol": "envoy.filters.listener.proxy_protocol",
  "envoy.listener.tls_inspector": "envoy.filters.listener.tls_inspector",
};

/** The current name for a deprecated one (matches are compared after this, as istiod does). */
export function canonicalFilterName(name: string): string {
  return DEPRECATED[name] ?? name;
}

const TYPES: Readonly<Record<string, string>> = {
  "envoy.filters.network.http_connection_manager": "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
  "envoy.filters.network.tcp_proxy": "envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
  "envoy.filters.network.rbac": "envoy.extensions.filters.network.rbac.v3.RBAC",
  "envoy.filters.network.local_ratelimit": "envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit",
  "envoy.filters.http.router": "envoy.extensions.filters.http.router.v3.Router",
  "envoy.filters.http.cors": "envoy.extensions.filters.http.cors.v3.Cors",
  "envoy.filters.http.fault": "envoy.extensions.filters.http.fault.v3.HTTPFault",
  "envoy.filters.http.lua": "envoy.extensions.filters.http.lua.v3.Lua",
  "envoy.filters.http.rbac": "envoy.extensions.filters.http.rbac.v3.RBAC",
  "envoy.filters.http.local_ratelimit": "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
  "envoy.filters.http.ratelimit": "envoy.extensions.filters.http.ratelimit.v3.RateLimit",
  "envoy.filters.http.ext_authz": "envoy.extensions.filters.http.ext_authz.v3.ExtAuthz",
  "envoy.filters.http.jwt_authn": "envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
  "envoy.filters.http.header_to_metadata": "envoy.extensions.filters.http.header_to_metadata.v3.Config",
  "envoy.filters.http.buffer": "envoy.extensions.filters.http.buffer.v3.Buffer",
  "envoy.filters.http.compressor": "envoy.extensions.filters.http.compressor.v3.Compressor",
  "envoy.filters.listener.tls_inspector": "envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector",
  "envoy.filters.listener.http_inspector": "envoy.extensions.filters.listener.http_inspector.v3.HttpInspector",
  "envoy.filters.listener.original_dst": "envoy.extensions.filters.listener.original_dst.v3.OriginalDst",
};

/** The typed config message of a well-known filter name (deprecated names too), or undefined. */
export function typeOfFilterName(name: string): string | undefined {
  return TYPES[canonicalFilterName(name)];
}

export const HCM_NAME = "envoy.filters.network.http_connection_manager";
