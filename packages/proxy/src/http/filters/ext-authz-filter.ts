// envoy.filters.http.ext_authz. The http_service variant is implemented: the
// check request goes through the proxy's own cluster (method and :authority
// of the original, path_prefix + path, the allowed headers, no body); 200
// allows (copying allowed_upstream_headers onto the request), any other status
// is returned to the client (UAEX, ext_authz_denied), and a transport failure
// is an error: failure_mode_allow continues, otherwise status_on_error (403)
// fails closed. The gRPC Check service is not available (its protos are not
// generated), so grpc_service configs load, are reported once, and every
// checked request takes the error path — closed unless failure_mode_allow.
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import {
  ExtAuthzPerRouteSchema,
  ExtAuthzSchema,
  type ExtAuthz,
  type HttpService,
} from "@weft/xds-api/gen/envoy/extensions/filters/http/ext_authz/v3/ext_authz_pb.js";
import type { ListStringMatcher } from "@weft/xds-api/gen/envoy/type/matcher/v3/string_pb.js";
import { ResourceRejectedError, type Counter } from "../../contracts.js";
import { callCluster } from "../../authz/cluster-call.js";
import { compileMetadataMatcher } from "../../authz/metadata-matcher.js";
import { NOOP_STATS } from "../../authz/noop-stats.js";
import { durationMs } from "../../runtime/duration.js";
import { compileStringMatcher, type StringPredicate } from "../../runtime/string-matcher.js";
import type { UpstreamHeaders } from "../../upstream/upstream-stream.js";
import type { CompileContext, HttpFilter, HttpFilterFactory } from "../http-filter.js";
import type { LocalReply } from "../local-reply.js";
import type { RequestContext } from "../request-context.js";

export const EXT_AUTHZ_TYPE_URL = "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz";
const PER_ROUTE_TYPE_URL = "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthzPerRoute";
const DISABLED = Symbol("ext-authz-disabled");

// Always sent to an HTTP authorization service, in addition to allowed_headers (Envoy).
const DEFAULT_REQUEST_HEADERS = new Set(["host", "authorization", "content-length"]);
// Never copied from the authorization response to the client (they describe the authz reply itself).
const NOT_TO_CLIENT = new Set(["content-length", "transfer-encoding", "connection", "keep-alive", "date", "server", "host"]);
const NOT_UPSTREAM = new Set(["content-length", "content-type", "transfer-encoding", "connection", "keep-alive", "date", "server", "host", "x-envoy-upstream-service-time"]);

type NameMatch = (name: string) => boolean;

function listMatcher(l: ListStringMatcher | undefined, cc: CompileContext, field: string): NameMatch | undefined {
  if (!l || l.patterns.length === 0) return undefined;
  const ps: StringPredicate[] = l.patterns.map((p, i) => compileStringMatcher(p, cc.resource, `${field}.patterns[${i}]`));
  return (n) => ps.some((p) => p(n));
}

interface HttpCheck {
  cluster: string;
  timeoutMs: number;
  pathPrefix: string;
  requestHeader: NameMatch;
  headersToAdd: Array<[string, string]>;
  upstream?: NameMatch;
  upstreamAppend?: NameMatch;
  client?: NameMatch;
  clientOnSuccess?: NameMatch;
}

function compileHttpService(s: HttpService, cc: CompileContext, field: string): HttpCheck {
  const uri = s.serverUri;
  if (!uri) throw new ResourceRejectedError(cc.resource, `${field}.server_uri`, "is required");
  if (uri.httpUpstreamType.case !== "cluster" || !uri.httpUpstreamType.value) throw new ResourceRejectedError(cc.resource, `${field}.server_uri.cluster`, "is required");
  const req = s.authorizationRequest;
  const res = s.authorizationResponse;
  const allowed = listMatcher(req?.allowedHeaders, cc, `${field}.authorization_request.allowed_headers`);
  if (res?.dynamicMetadataFromHeaders) cc.report("ext_authz.http_service.authorization_response.dynamic_metadata_from_headers", "not implemented");
  return {
    cluster: uri.httpUpstreamType.value,
    timeoutMs: durationMs(uri.timeout, 200),
    pathPrefix: s.pathPrefix,
    requestHeader: (n) => DEFAULT_REQUEST_HEADERS.has(n) || (allowed !== undefined && allowed(n)),
    headersToAdd: (req?.headersToAdd ?? []).map((h) => [h.key.toLowerCase(), h.value]),
    upstream: listMatcher(res?.allowedUpstreamHeaders, cc, `${field}.authorization_response.allowed_upstream_headers`),
    upstreamAppend: listMatcher(res?.allowedUpstreamHeadersToAppend, cc, `${field}.authorization_response.allowed_upstream_headers_to_append`),
    client: listMatcher(res?.allowedClientHeaders, cc, `${field}.authorization_response.allowed_client_headers`),
    clientOnSuccess: listMatcher(res?.allowedClientHeadersOnSuccess, cc, `${field}.authorization_response.allowed_client_headers_on_success`),
  };
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(",") : v;
}

function unpack(cfg: ExtAuthz | undefined, cc: CompileContext): ExtAuthz {
  if (!cfg) throw new ResourceRejectedError(cc.resource, `${cc.field}.typed_config`, `expected ${EXT_AUTHZ_TYPE_URL}`);
  return cfg;
}

export const extAuthzFilterFactory: HttpFilterFactory = {
  typeUrls: [EXT_AUTHZ_TYPE_URL],
  perRouteTypeUrls: [PER_ROUTE_TYPE_URL],
  compilePerRoute(any, cc) {
    const pr = anyUnpack(any, ExtAuthzPerRouteSchema);
    if (!pr) throw new ResourceRejectedError(cc.resource, cc.field, `expected ${PER_ROUTE_TYPE_URL}, got ${any.typeUrl}`);
    if (pr.override.case === "disabled" && pr.override.value) return DISABLED;
    if (pr.override.case === "checkSettings") cc.report("ext_authz.per_route.check_settings", "context extensions and per-route body settings are not implemented; the filter's settings apply");
    return undefined;
  },
  create(name, config, cc): HttpFilter {
    const f = `${cc.field}.typed_config`;
    const cfg = unpack(config ? anyUnpack(config, ExtAuthzSchema) : undefined, cc);
    let http: HttpCheck | undefined;
    if (cfg.services.case === "httpService") http = compileHttpService(cfg.services.value, cc, `${f}.http_service`);
    else if (cfg.services.case === "grpcService") {
      cc.report("ext_authz.grpc_service", "the gRPC authorization service is not implemented: checked requests fail " + (cfg.failureModeAllow ? "open (failure_mode_allow)" : "closed (403)"));
    } else throw new ResourceRejectedError(cc.resource, `${f}.services`, "grpc_service or http_service is required");
    if (cfg.withRequestBody) cc.report("ext_authz.with_request_body", "not implemented; the check request carries no body");
    if (cfg.filterEnabled?.runtimeKey) cc.report("ext_authz.filter_enabled.runtime_key", "runtime overrides are not implemented; default_value applies");
    const enabledMd = cfg.filterEnabledMetadata ? compileMetadataMatcher(cfg.filterEnabledMetadata, cc.resource, `${f}.filter_enabled_metadata`) : undefined;
    const fe = cfg.filterEnabled?.defaultValue;
    const enabledFraction = fe ? fe.numerator / (fe.denominator === 1 ? 10_000 : fe.denominator === 2 ? 1_000_000 : 100) : 1;
    const denyAtDisable = cfg.denyAtDisable?.defaultValue ?? false;
    const statusOnError = cfg.statusOnError?.code || 403;
    const stats = cc.runtime?.stats ?? NOOP_STATS;
    const p = `http.${cc.statPrefix ?? ""}.ext_authz.${cfg.statPrefix ? cfg.statPrefix + "." : ""}`;
    const c = (n: string): Counter => stats.counter(p + n);
    const ok = c("ok");
    const denied = c("denied");
    const error = c("error");
    const disabled = c("disabled");
    const failureModeAllowed = c("failure_mode_allowed");
    const log = cc.runtime?.logger;

    const onError = (ctx: RequestContext, reason: string): LocalReply | undefined => {
      error.inc();
      log?.debug({ reason }, "ext_authz check failed");
      if (cfg.failureModeAllow) {
        failureModeAllowed.inc();
        if (cfg.failureModeAllowHeaderAdd) ctx.headers["x-envoy-auth-failure-mode-allowed"] = "true";
        return undefined;
      }
      return { status: statusOnError, body: "", details: "ext_authz_error", flag: "UAEX" };
    };

    const check = async (ctx: RequestContext, h: HttpCheck): Promise<LocalReply | undefined> => {
      // The original :authority travels as the check request's host (Envoy copies :authority).
      const headers: UpstreamHeaders = { "content-length": "0", host: ctx.authority };
      for (const k in ctx.headers) if (k !== "content-length" && h.requestHeader(k)) headers[k] = ctx.headers[k];
      for (const [k, v] of h.headersToAdd) headers[k] = v;
      let res;
      try {
        res = await callCluster(cc.runtime?.cluster(h.cluster), h.cluster, {
          method: ctx.method,
          path: h.pathPrefix + ctx.path,
          authority: ctx.authority,
          headers,
          timeoutMs: h.timeoutMs,
          maxBodyBytes: 64 * 1024,
        });
      } catch (err) {
        return onError(ctx, (err as Error).message);
      }
      if (res.status === 200) {
        ok.inc();
        for (const k in res.headers) {
          if (NOT_UPSTREAM.has(k)) continue;
          const v = first(res.headers[k]);
          if (v === undefined) continue;
          if (h.upstream?.(k)) ctx.headers[k] = v;
          else if (h.upstreamAppend?.(k)) {
            const cur = first(ctx.headers[k]);
            ctx.headers[k] = cur === undefined ? v : `${cur},${v}`;
          }
          if (h.clientOnSuccess?.(k)) (ctx.extraResponseHeaders ??= {})[k] = v;
        }
        return undefined;
      }
      denied.inc();
      const out: Record<string, string> = {};
      for (const k in res.headers) {
        if (NOT_TO_CLIENT.has(k)) continue;
        if (h.client && !h.client(k)) continue;
        const v = first(res.headers[k]);
        if (v !== undefined) out[k] = v;
      }
      // Envoy keeps the authorization server's status (403 when it sent something unusable).
      const status = res.status >= 200 && res.status < 600 ? res.status : 403;
      return { status, body: res.body.toString("utf8"), details: "ext_authz_denied", flag: "UAEX", headers: out };
    };

    return {
      name,
      decodeHeaders(ctx: RequestContext) {
        const per = ctx.route?.perFilter.get(name) ?? ctx.vhost?.perFilter.get(name);
        if (per === DISABLED) return undefined;
        let enabled = enabledFraction >= 1 || Math.random() < enabledFraction;
        if (enabled && enabledMd) enabled = enabledMd(ctx.conn, ctx);
        if (!enabled) {
          disabled.inc();
          if (denyAtDisable) return { status: 403, body: "", details: "ext_authz_disabled", flag: "UAEX" };
          return undefined;
        }
        if (!http) return onError(ctx, "grpc_service is not implemented");
        return check(ctx, http);
      },
    };
  },
};

