// Two sidecar bootstraps in Istio's shapes for mTLS tests: a client (sleep)
// whose outbound cluster picks UpstreamTlsContext by the endpoint's
// `tlsMode: istio` through transport_socket_matches and whose HCM carries
// istio.alpn; a server (httpbin) whose virtualInbound-style listener selects
// the HTTP chain by transport_protocol tls + istio-http ALPN and forwards XFCC.
import { upstreamTls, downstreamTls } from "./tls-config.js";

const TD = "spiffe://cluster.local";
const HCM = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const ROUTER = { name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } };
const ISTIO_ALPN = {
  name: "istio.alpn",
  typed_config: {
    "@type": "type.googleapis.com/istio.envoy.config.filter.http.alpn.v2alpha1.FilterConfig",
    alpn_override: [
      { alpn_override: ["istio-http/1.0", "istio", "http/1.0"] },
      { upstream_protocol: "HTTP11", alpn_override: ["istio-http/1.1", "istio", "http/1.1"] },
      { upstream_protocol: "HTTP2", alpn_override: ["istio-h2", "istio", "h2"] },
    ],
  },
};

function sdsCluster(path: string) {
  return {
    name: "sds-grpc",
    type: "STATIC",
    typed_extension_protocol_options: { "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": { "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions", explicit_http_config: { http2_protocol_options: {} } } },
    connect_timeout: "1s",
    load_assignment: { cluster_name: "sds-grpc", endpoints: [{ lb_endpoints: [{ endpoint: { address: { pipe: { path } } } }] }] },
  };
}

const node = (id: string) => ({ id, cluster: id.split("~")[2] ?? "test" });

export function clientSidecar(o: { sdsPath: string; adminPort: number; outboundPort: number; serverPort: number; maxRequestsPerConnection?: number; accessLogPath?: string }) {
  const cluster = "outbound|8000||httpbin.default.svc.cluster.local";
  return {
    node: node("sidecar~127.0.0.1~sleep.default~default.svc.cluster.local"),
    admin: { address: { socket_address: { address: "127.0.0.1", port_value: o.adminPort } } },
    static_resources: {
      clusters: [
        sdsCluster(o.sdsPath),
        {
          name: cluster,
          type: "STATIC",
          connect_timeout: "2s",
          ...(o.maxRequestsPerConnection ? { max_requests_per_connection: o.maxRequestsPerConnection } : {}),
          load_assignment: {
            cluster_name: cluster,
            endpoints: [
              {
                lb_endpoints: [
                  {
                    endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: o.serverPort } } },
                    metadata: { filter_metadata: { "envoy.transport_socket_match": { tlsMode: "istio" } } },
                  },
                ],
              },
            ],
          },
          transport_socket_matches: [
            {
              name: "tlsMode-istio",
              match: { tlsMode: "istio" },
              transport_socket: upstreamTls(
                { kind: "grpc", cluster: "sds-grpc" },
                { alpn: ["istio-peer-exchange", "istio"], san: [{ exact: `${TD}/ns/default/sa/httpbin` }], sni: "outbound_.8000_._.httpbin.default.svc.cluster.local" },
              ),
            },
            { name: "tlsMode-disabled", match: {}, transport_socket: { name: "envoy.transport_sockets.raw_buffer", typed_config: { "@type": "type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer" } } },
          ],
        },
      ],
      listeners: [
        {
          name: "127.0.0.1_8000",
          address: { socket_address: { address: "127.0.0.1", port_value: o.outboundPort } },
          filter_chains: [
            {
              filters: [
                {
                  name: "envoy.filters.network.http_connection_manager",
                  typed_config: {
                    "@type": HCM,
                    stat_prefix: "outbound_0.0.0.0_8000",
                    route_config: { name: "8000", virtual_hosts: [{ name: "httpbin", domains: ["*"], routes: [{ name: "default", match: { prefix: "/" }, route: { cluster } }] }] },
                    http_filters: [ISTIO_ALPN, ROUTER],
                    ...(o.accessLogPath
                      ? { access_log: [{ name: "envoy.access_loggers.file", typed_config: { "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog", path: o.accessLogPath, log_format: { json_format: { code: "%RESPONSE_CODE%", flags: "%RESPONSE_FLAGS%", reason: "%UPSTREAM_TRANSPORT_FAILURE_REASON%" } } } }] }
                      : {}),
                  },
                },
              ],
            },
          ],
        },
      ],
    },
  };
}

export function serverSidecar(o: { sdsPath: string; adminPort: number; inboundPort: number; appPort: number }) {
  const tls = downstreamTls({ kind: "grpc", cluster: "sds-grpc" }, { alpn: ["h2", "http/1.1"], san: [{ prefix: `${TD}/` }] });
  return {
    node: node("sidecar~127.0.0.1~httpbin.default~default.svc.cluster.local"),
    admin: { address: { socket_address: { address: "127.0.0.1", port_value: o.adminPort } } },
    static_resources: {
      clusters: [sdsCluster(o.sdsPath), { name: "inbound|80||", type: "STATIC", connect_timeout: "2s", load_assignment: { cluster_name: "inbound|80||", endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: o.appPort } } } }] }] } }],
      listeners: [
        {
          name: "virtualInbound",
          address: { socket_address: { address: "127.0.0.1", port_value: o.inboundPort } },
          listener_filters: [{ name: "envoy.filters.listener.tls_inspector", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector" } }],
          filter_chains: [
            {
              name: "0.0.0.0_80",
              filter_chain_match: { transport_protocol: "tls", application_protocols: ["istio-http/1.0", "istio-http/1.1", "istio-h2"] },
              transport_socket: tls,
              filters: [
                {
                  name: "envoy.filters.network.http_connection_manager",
                  typed_config: {
                    "@type": HCM,
                    stat_prefix: "inbound_0.0.0.0_80",
                    forward_client_cert_details: "APPEND_FORWARD",
                    set_current_client_cert_details: { subject: true, dns: true, uri: true },
                    route_config: { name: "inbound|80||", virtual_hosts: [{ name: "inbound|http|80", domains: ["*"], routes: [{ name: "default", match: { prefix: "/" }, route: { cluster: "inbound|80||" } }] }] },
                    http_filters: [ROUTER],
                  },
                },
              ],
            },
            {
              name: "0.0.0.0_80_tcp",
              filter_chain_match: { transport_protocol: "tls" },
              transport_socket: tls,
              filters: [{ name: "envoy.filters.network.tcp_proxy", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", stat_prefix: "inbound|80||", cluster: "inbound|80||" } }],
            },
          ],
        },
      ],
    },
  };
}
