// envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
// → HcmConfig. Filters are built from the registry by type URL.
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import {
  HttpConnectionManagerSchema,
  type HttpConnectionManager,
} from "@weft/xds-api/gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import type { Any } from "@bufbuild/protobuf/wkt";
import { ResourceRejectedError, type AccessLogger, type AccessLoggerFactory } from "../contracts.js";
import { durationMs } from "../runtime/duration.js";
import { compileRouteConfig, type CompiledRouteConfig } from "../runtime/compile-route-config.js";
import { compileXfcc, type XfccConfig } from "../tls/xfcc.js";
import { compileRouterOptions, DEFAULT_ROUTER_OPTIONS } from "../router/router-options.js";
import { ROUTER_TYPE_URL, type FilterRuntimeDeps, type HttpFilter, type HttpFilterRegistry, type TrafficDirection } from "./http-filter.js";
import { compileInternalAddressConfig, type InternalAddressPredicate } from "./internal-address.js";
import { compileRequestLimits, type RequestLimits } from "./request-limits.js";
import { utf8WireString } from "./wire-string.js";
import { unwrapTypedStruct } from "./typed-struct.js";

export interface HcmConfig {
  statPrefix: string;
  codec: "auto" | "http1" | "http2";
  /** RDS name, or undefined with `inlineRoutes` set. */
  rdsName?: string;
  inlineRoutes?: CompiledRouteConfig;
  filters: HttpFilter[];
  streamIdleTimeoutMs: number;
  requestTimeoutMs: number;
  /** common_http_protocol_options.max_stream_duration; 0 = none. A route's max_stream_duration overrides it. */
  maxStreamDurationMs: number;
  requestHeadersTimeoutMs: number;
  idleTimeoutMs: number;
  drainTimeoutMs: number;
  maxRequestHeadersKb: number;
  useRemoteAddress: boolean;
  xffNumTrustedHops: number;
  /** internal_address_config: which trusted client addresses make a request internal. */
  isInternalAddress: InternalAddressPredicate;
  skipXffAppend: boolean;
  generateRequestId: boolean;
  preserveExternalRequestId: boolean;
  alwaysSetRequestIdInResponse: boolean;
  /** The router filter's suppress_envoy_headers. */
  suppressEnvoyHeaders: boolean;
  tracing: boolean;
  /** tracing.random_sampling in percent (Envoy default 100). */
  tracingSampling: number;
  serverName: string;
  serverHeader: "overwrite" | "append_if_absent" | "pass_through";
  websocket: boolean;
  accessLoggers: AccessLogger[];
  stripAnyHostPort: boolean;
  via: string;
  /** forward_client_cert_details / set_current_client_cert_details (x-forwarded-client-cert). */
  xfcc: XfccConfig;
  /** Hostile-input limits, path normalization and HTTP/2 flood limits. */
  limits: RequestLimits;
}

export const HCM_TYPE_URL = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";

export interface HcmCompileDeps {
  filters: HttpFilterRegistry;
  accessLogs: AccessLoggerFactory;
  report(field: string, detail?: string): void;
  /** Stats, logger and clusters for filters that need them at request time. */
  runtime?: FilterRuntimeDeps;
  /** The listener's traffic_direction. */
  direction?: TrafficDirection;
}

export function compileHcm(any: Any, res: string, field: string, deps: HcmCompileDeps): HcmConfig {
  const hcm = anyUnpack(any, HttpConnectionManagerSchema);
  if (!hcm) throw new ResourceRejectedError(res, field, `expected HttpConnectionManager, got ${any.typeUrl}`);
  return compileHcmMessage(hcm, res, field, deps);
}

export function compileHcmMessage(hcm: HttpConnectionManager, res: string, field: string, deps: HcmCompileDeps): HcmConfig {
  if (!hcm.statPrefix) throw new ResourceRejectedError(res, `${field}.stat_prefix`, "must not be empty");
  const rs = hcm.routeSpecifier;
  let rdsName: string | undefined;
  let inlineRoutes: CompiledRouteConfig | undefined;
  if (rs.case === "rds") {
    if (!rs.value.routeConfigName) throw new ResourceRejectedError(res, `${field}.rds.route_config_name`, "must not be empty");
    rdsName = rs.value.routeConfigName;
  } else if (rs.case === "routeConfig") {
    try {
      inlineRoutes = compileRouteConfig(rs.value, { filters: deps.filters, report: deps.report }, rs.value.name, `${res} ${field}.route_config`);
    } catch (err) {
      if (err instanceof ResourceRejectedError) {
        throw new ResourceRejectedError(res, `${field}.route_config.${err.fieldPath}`, err.message.slice(err.message.indexOf(err.fieldPath) + err.fieldPath.length + 2));
      }
      throw err;
    }
  } else {
    throw new ResourceRejectedError(res, `${field}.route_specifier`, rs.case ? `${rs.case} is not supported` : "rds or route_config is required");
  }

  const filters: HttpFilter[] = [];
  let sawRouter = false;
  let router = DEFAULT_ROUTER_OPTIONS;
  hcm.httpFilters.forEach((f, i) => {
    const ff = `${field}.http_filters[${i}]`;
    if (f.disabled) return;
    if (sawRouter) throw new ResourceRejectedError(res, ff, `${f.name} follows the terminal router filter`);
    if (f.configType.case === "configDiscovery") {
      if (f.isOptional) return deps.report(`${ff}.config_discovery`, "ECDS is not implemented; optional filter skipped");
      throw new ResourceRejectedError(res, `${ff}.config_discovery`, "ECDS is not implemented");
    }
    const given = f.configType.case === "typedConfig" ? f.configType.value : undefined;
    // A TypedStruct goes to the filter of its inner type, unless a filter takes the TypedStruct itself (Istio's telemetry).
    const cfg = given && unwrapTypedStruct(given, (t) => deps.filters.byTypeUrl(t) !== undefined && deps.filters.byTypeUrl(t) !== deps.filters.byTypeUrl(given.typeUrl), res, `${ff}.typed_config`);
    const typeUrl = cfg?.typeUrl ?? "";
    if (typeUrl === ROUTER_TYPE_URL || (!cfg && f.name === "envoy.filters.http.router")) {
      sawRouter = true;
      if (cfg) router = compileRouterOptions(cfg, deps.report, res, ff);
      return;
    }
    const factory = deps.filters.byTypeUrl(typeUrl);
    if (!factory) {
      if (f.isOptional) {
        deps.report(`http_filters[${typeUrl || f.name}]`, "filter is not implemented; skipped because is_optional is set");
        return;
      }
      throw new ResourceRejectedError(res, `${ff}.typed_config`, `unknown or unimplemented HTTP filter ${f.name} (${typeUrl || "no typed_config"})`);
    }
    filters.push(factory.create(f.name, cfg, { resource: res, field: ff, report: deps.report, runtime: deps.runtime, statPrefix: hcm.statPrefix, direction: deps.direction }));
  });
  if (!sawRouter) throw new ResourceRejectedError(res, `${field}.http_filters`, "the last HTTP filter must be envoy.filters.http.router");

  if (hcm.localReplyConfig) deps.report("http_connection_manager.local_reply_config", "not implemented");
  if (hcm.requestIdExtension) deps.report("http_connection_manager.request_id_extension", "not implemented; UUIDs are used");

  const accessLoggers = hcm.accessLog.map((a, i) => {
    try {
      return deps.accessLogs(a);
    } catch (err) {
      throw new ResourceRejectedError(res, `${field}.access_log[${i}]`, (err as Error).message);
    }
  });
  let websocket = false;
  for (const u of hcm.upgradeConfigs) if (u.upgradeType.toLowerCase() === "websocket") websocket = u.enabled ?? true;
  const t = hcm.tracing;
  const limits = compileRequestLimits(hcm, res, field, deps.report);
  return {
    statPrefix: hcm.statPrefix,
    codec: hcm.codecType === 1 ? "http1" : hcm.codecType === 2 ? "http2" : "auto",
    rdsName,
    inlineRoutes,
    filters,
    streamIdleTimeoutMs: durationMs(hcm.streamIdleTimeout, 300_000),
    requestTimeoutMs: durationMs(hcm.requestTimeout, 0),
    maxStreamDurationMs: durationMs(hcm.commonHttpProtocolOptions?.maxStreamDuration, 0),
    requestHeadersTimeoutMs: limits.requestHeadersTimeoutMs,
    idleTimeoutMs: durationMs(hcm.commonHttpProtocolOptions?.idleTimeout, 3_600_000),
    drainTimeoutMs: durationMs(hcm.drainTimeout, 5000),
    maxRequestHeadersKb: limits.maxRequestHeadersBytes / 1024,
    useRemoteAddress: hcm.useRemoteAddress ?? false,
    xffNumTrustedHops: hcm.xffNumTrustedHops,
    isInternalAddress: compileInternalAddressConfig(hcm.internalAddressConfig, res, `${field}.internal_address_config`),
    skipXffAppend: hcm.skipXffAppend,
    generateRequestId: hcm.generateRequestId ?? true,
    preserveExternalRequestId: hcm.preserveExternalRequestId,
    alwaysSetRequestIdInResponse: hcm.alwaysSetRequestIdInResponse,
    suppressEnvoyHeaders: router.suppressEnvoyHeaders,
    tracing: !!t,
    tracingSampling: t?.randomSampling?.value ?? 100,
    // Sent as its UTF-8 bytes, as Envoy does; the response writers drop a value they cannot carry.
    serverName: utf8WireString(hcm.serverName || "envoy"),
    serverHeader: hcm.serverHeaderTransformation === 1 ? "append_if_absent" : hcm.serverHeaderTransformation === 2 ? "pass_through" : "overwrite",
    websocket,
    accessLoggers,
    stripAnyHostPort: hcm.stripPortMode.case === "stripAnyHostPort" && hcm.stripPortMode.value,
    via: hcm.via,
    xfcc: compileXfcc(hcm),
    limits,
  };
}
