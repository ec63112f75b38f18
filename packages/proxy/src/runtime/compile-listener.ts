// envoy.config.listener.v3.Listener → ListenerConfig: address, listener
// filters, filter chains with compiled match criteria and their terminal
// network filter (http_connection_manager or tcp_proxy). The only place that
// reads Listener protos.
import type { JsonObject } from "@bufbuild/protobuf";
import type { Listener } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_pb.js";
import type { FilterChain } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_components_pb.js";
import { ResourceRejectedError, type AccessLogger, type AccessLoggerFactory } from "../contracts.js";
import { compileHcm, HCM_TYPE_URL, type HcmConfig } from "../http/compile-hcm.js";
import type { FilterRuntimeDeps, HttpFilterRegistry, TrafficDirection } from "../http/http-filter.js";
import { compileNetworkFilter, type NetworkFilter } from "../authz/network-filters.js";
import { compileChainMatch, chainMatchKey, type ChainMatch } from "../listener/filter-chain-match.js";
import { compileChainMatcher, type ChainNameMatcher } from "../listener/chain-matcher.js";
import { compileTcpProxy, TCP_PROXY_TYPE_URL, type TcpProxyConfig } from "../tcp/tcp-proxy.js";
import { createIstioTcpStats } from "../tcp/istio-tcp-stats.js";
import type { TcpObserver } from "../tcp/tcp-observer.js";
import { statsPluginConfigOf } from "../istio/stats-plugin-config.js";
import { peerExchangeSpecOf, type PeerExchangeSpec } from "../tcp/peer-exchange.js";
import { peerExchangeOf } from "../istio/peer-exchange-wire.js";
import { compileConnectionLimitSpec, createConnectionLimitFilter, isConnectionLimit } from "../listener/connection-limit-filter.js";
import { compileDownstreamTls, RAW_BUFFER_TYPE_URL, type TlsContextSpec } from "../tls/compile-tls-context.js";
import { durationMs } from "./duration.js";
import { bufferLimit } from "./buffer-limit.js";
import { socketAddressOf } from "./compile-endpoints.js";

/** The terminal filter; a tcp_proxy's `observers` are the filters before it that follow its connections (istio.stats). */
export type NetworkFilterSpec =
  | { kind: "http"; hcm: HcmConfig }
  | { kind: "tcp"; tcp: TcpProxyConfig; observers: TcpObserver[]; peerExchange?: { header: Buffer; downstream?: PeerExchangeSpec } };

export interface ChainConfig {
  name: string;
  match: ChainMatch;
  terminal: NetworkFilterSpec;
  /** Network filters before the terminal one (rbac, istio_authn), in order. */
  networkFilters: NetworkFilter[];
  /** The chain's DownstreamTlsContext; undefined for plaintext (raw_buffer). */
  tls?: TlsContextSpec;
  /** transport_socket_connect_timeout (istiod sets 15 s on gateway chains); undefined when unset or zero. */
  transportSocketConnectTimeoutMs?: number;
}

export interface ListenerConfig {
  name: string;
  /** undefined for internal listeners (not bound). */
  ip?: string;
  port: number;
  pipe?: string;
  bindToPort: boolean;
  useOriginalDst: boolean;
  originalDstFilter: boolean;
  tlsInspector: boolean;
  httpInspector: boolean;
  listenerFiltersTimeoutMs: number;
  continueOnListenerFiltersTimeout: boolean;
  chains: ChainConfig[];
  chainMatcher?: ChainNameMatcher;
  defaultChain?: ChainConfig;
  accessLoggers: AccessLogger[];
  /** `ip_port` as Envoy's listener stats name it (`listener.0.0.0.0_15001.`). */
  statName: string;
  internal: boolean;
  /**
   * per_connection_buffer_limit_bytes (Envoy default 1 MiB): how much a downstream connection
   * may buffer in each direction before the proxy stops reading its peer. Handed to the
   * network filters as ConnInfo.bufferLimitBytes. Infinity when configured as 0 (Envoy: no limit).
   */
  perConnectionBufferLimitBytes: number;
  /** ignore_global_conn_limit: exempt from the overload manager's global connection cap. */
  ignoreGlobalConnLimit: boolean;
}

export interface ListenerCompileDeps {
  filters: HttpFilterRegistry;
  accessLogs: AccessLoggerFactory;
  report(field: string, detail?: string): void;
  /** Stats, logger and clusters for filters (rbac, jwt_authn, ext_authz); absent in pure compile checks. */
  runtime?: FilterRuntimeDeps;
  /** Worker processes sharing the listeners: process-wide counts (connection_limit) take their share. */
  workers?: number;
  /** Set per listener from its traffic_direction (compileListener does). */
  direction?: TrafficDirection;
}

const DIRECTIONS: readonly TrafficDirection[] = ["UNSPECIFIED", "INBOUND", "OUTBOUND"];

// Network filters that only produce telemetry/metadata in Istio's configs; they never change traffic.
const TELEMETRY_NETWORK_FILTERS = new Set([
  "type.googleapis.com/envoy.extensions.filters.network.set_filter_state.v3.Config",
  "type.googleapis.com/udpa.type.v1.TypedStruct",
  "type.googleapis.com/xds.type.v3.TypedStruct",
]);

const NO_NODE = { id: "", metadata: {} };

const LISTENER_FILTER = {
  originalDst: "type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst",
  tls: "type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector",
  http: "type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector",
};

export function compileListener(l: Listener, deps: ListenerCompileDeps): ListenerConfig {
  // Envoy names unnamed (static) listeners itself; we derive a stable name from the address.
  const sa0 = l.address?.address;
  const name =
    l.name ||
    (sa0?.case === "socketAddress" ? `${sa0.value.address}_${sa0.value.portSpecifier.case === "portValue" ? sa0.value.portSpecifier.value : 0}` : sa0?.case === "pipe" ? sa0.value.path : "");
  if (!name) throw new ResourceRejectedError("<unnamed listener>", "name", "listener name (or an address) is required");
  const chainDeps: ListenerCompileDeps = { ...deps, direction: DIRECTIONS[l.trafficDirection] ?? "UNSPECIFIED" };
  const internal = l.listenerSpecifier.case === "internalListener";
  let ip: string | undefined;
  let port = 0;
  let pipe: string | undefined;
  if (!internal) {
    const sa = socketAddressOf(l.address, name, "address", false);
    ip = sa.address;
    port = sa.port;
    pipe = sa.pipe;
  } else deps.report("listener.internal_listener", "internal listeners are not implemented; the listener is kept but not bound");
  const cfg: ListenerConfig = {
    name,
    ip,
    port,
    pipe,
    bindToPort: l.bindToPort ?? true,
    useOriginalDst: l.useOriginalDst ?? false,
    originalDstFilter: false,
    tlsInspector: false,
    httpInspector: false,
    listenerFiltersTimeoutMs: durationMs(l.listenerFiltersTimeout, 15_000),
    continueOnListenerFiltersTimeout: l.continueOnListenerFiltersTimeout,
    chains: [],
    accessLoggers: l.accessLog.map((a, i) => {
      try {
        return deps.accessLogs(a);
      } catch (err) {
        throw new ResourceRejectedError(name, `access_log[${i}]`, (err as Error).message);
      }
    }),
    statName: pipe ? pipe : `${ip}_${port}`,
    internal,
    // An explicit 0 means no watermarks in Envoy (unbounded): kept as Infinity.
    perConnectionBufferLimitBytes: bufferLimit(l.perConnectionBufferLimitBytes),
    ignoreGlobalConnLimit: l.ignoreGlobalConnLimit,
  };
  l.listenerFilters.forEach((f, i) => {
    const t = f.configType.case === "typedConfig" ? f.configType.value.typeUrl : "";
    if (t === LISTENER_FILTER.originalDst || f.name === "envoy.filters.listener.original_dst") cfg.originalDstFilter = true;
    else if (t === LISTENER_FILTER.tls || f.name === "envoy.filters.listener.tls_inspector") cfg.tlsInspector = true;
    else if (t === LISTENER_FILTER.http || f.name === "envoy.filters.listener.http_inspector") cfg.httpInspector = true;
    else deps.report(`listener.listener_filters[${t || f.name}]`, `listener filter ${f.name} is not implemented; skipped`);
    if (f.filterDisabled) deps.report("listener.listener_filters.filter_disabled", "not implemented; the filter always runs");
    void i;
  });
  const seen = new Map<string, string>();
  l.filterChains.forEach((fc, i) => {
    const c = compileChain(fc, name, `filter_chains[${i}]`, chainDeps);
    // With filter_chain_matcher the match fields are ignored and chains are selected by name.
    if (!l.filterChainMatcher) {
      const key = chainMatchKey(c.match);
      const prev = seen.get(key);
      if (prev !== undefined) throw new ResourceRejectedError(name, `filter_chains[${i}].filter_chain_match`, `multiple filter chains with the same matching rules are defined (${prev || "<unnamed>"} and ${c.name || "<unnamed>"})`);
      seen.set(key, c.name);
    }
    cfg.chains.push(c);
  });
  if (l.filterChainMatcher) cfg.chainMatcher = compileChainMatcher(l.filterChainMatcher, name, "filter_chain_matcher");
  if (l.defaultFilterChain) cfg.defaultChain = compileChain(l.defaultFilterChain, name, "default_filter_chain", chainDeps);
  if (cfg.chains.length === 0 && !cfg.defaultChain && !l.apiListener) {
    throw new ResourceRejectedError(name, "filter_chains", "a listener needs at least one filter chain or a default_filter_chain");
  }
  if (l.apiListener) deps.report("listener.api_listener", "not implemented");
  if (l.additionalAddresses.length) deps.report("listener.additional_addresses", "not implemented; only address is bound");
  if (l.transparent) deps.report("listener.transparent", "IP_TRANSPARENT (TPROXY) is not implemented");
  if (l.socketOptions.length) deps.report("listener.socket_options", "not implemented");
  return cfg;
}

function compileChain(fc: FilterChain, res: string, field: string, deps: ListenerCompileDeps): ChainConfig {
  const match = compileChainMatch(fc.filterChainMatch, res, `${field}.filter_chain_match`);
  let terminal: NetworkFilterSpec | undefined;
  const networkFilters: NetworkFilter[] = [];
  const observers: TcpObserver[] = [];
  let statsBeforeHcm: string | undefined;
  let mx: PeerExchangeSpec | undefined;
  let mxAt: string | undefined;
  fc.filters.forEach((f, i) => {
    const ff = `${field}.filters[${i}]`;
    if (f.configType.case !== "typedConfig") {
      throw new ResourceRejectedError(res, ff, `network filter ${f.name} needs typed_config (config_discovery is not implemented)`);
    }
    const any = f.configType.value;
    let nf: NetworkFilter | undefined;
    let stats: JsonObject | undefined;
    let spec: PeerExchangeSpec | null | undefined;
    if (terminal) throw new ResourceRejectedError(res, ff, `${f.name} follows the terminal filter`);
    if (any.typeUrl === HCM_TYPE_URL) terminal = { kind: "http", hcm: compileHcm(any, res, `${ff}.typed_config`, deps) };
    else if (any.typeUrl === TCP_PROXY_TYPE_URL) terminal = { kind: "tcp", tcp: compileTcpProxy(any, res, `${ff}.typed_config`, deps), observers };
    else if ((stats = statsPluginConfigOf(any)) !== undefined) {
      const o = createIstioTcpStats(stats, { report: deps.report, at: `${ff}.typed_config`, direction: deps.direction, runtime: deps.runtime });
      if (o) observers.push(o);
      statsBeforeHcm ??= ff;
    } else if ((spec = peerExchangeSpecOf(any, deps.report, `${ff}.typed_config`)) !== undefined) {
      if (spec) mx = spec;
      mxAt = ff;
    } else if (isConnectionLimit(any)) networkFilters.push(createConnectionLimitFilter(f.name, compileConnectionLimitSpec(any, res, `${ff}.typed_config`, deps.workers), deps.runtime?.stats));
    else if ((nf = compileNetworkFilter(f.name, any, { resource: res, field: `${ff}.typed_config`, report: deps.report, runtime: deps.runtime }))) networkFilters.push(nf);
    else if (TELEMETRY_NETWORK_FILTERS.has(any.typeUrl)) deps.report(`network_filter[${f.name}]`, "telemetry/metadata network filter is not implemented; skipped (traffic unaffected)");
    else throw new ResourceRejectedError(res, `${ff}.typed_config`, `network filter ${f.name} (${any.typeUrl}) is not implemented`);
  });
  if (!terminal) throw new ResourceRejectedError(res, `${field}.filters`, "the last network filter must be http_connection_manager or tcp_proxy");
  if (terminal.kind === "tcp" && deps.runtime) {
    // Our exchange bytes serve the chain's filter and the clusters' filters alike.
    terminal.peerExchange = { header: peerExchangeOf(deps.runtime.node ?? NO_NODE), downstream: mx };
  }
  // HTTP peers exchange metadata in headers; a connection that negotiated the exchange ALPN reaches no HCM chain in Istio's configs.
  if (terminal.kind === "http" && mxAt !== undefined) deps.report(`${mxAt}[istio.metadata_exchange]`, "the TCP exchange before http_connection_manager is not implemented; skipped");
  // Istio puts istio.stats before tcp_proxy only; an HCM's own istio.stats counts its HTTP traffic.
  if (terminal.kind === "http" && statsBeforeHcm !== undefined) deps.report(`${statsBeforeHcm}[istio.stats]`, "istio.stats as a network filter before http_connection_manager is not implemented (no istio_tcp_* for HTTP connections); skipped");
  let tls: TlsContextSpec | undefined;
  const ts = fc.transportSocket;
  if (ts) {
    const tf = `${field}.transport_socket`;
    if (ts.configType.case !== "typedConfig") throw new ResourceRejectedError(res, tf, `transport socket ${ts.name} needs typed_config`);
    const any = ts.configType.value;
    if (any.typeUrl !== RAW_BUFFER_TYPE_URL) tls = compileDownstreamTls(any, res, `${tf}.typed_config`, deps.report);
  }
  const connectTimeout = durationMs(fc.transportSocketConnectTimeout, 0);
  return { name: fc.name, match, terminal, networkFilters, tls, transportSocketConnectTimeoutMs: connectTimeout > 0 ? connectTimeout : undefined };
}
