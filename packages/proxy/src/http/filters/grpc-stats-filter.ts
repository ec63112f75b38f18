// envoy.filters.http.grpc_stats: for each gRPC call (content-type
// application/grpc*), counts its messages in both directions as they pass
// (the filter state istio.stats reads for istio_request/response_messages_total)
// and, when the call ends, Envoy's cluster.<cluster>.grpc.[<service>.<method>.]
// {total,success,failure,request_message_count,response_message_count}.
// Per-method names only for `stats_for_all_methods` or the methods in
// `individual_method_stats_allowlist`: they come from the client's :path, so
// an open set of names would let any client grow the stats without bound.
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import { FilterConfigSchema } from "@weft/xds-api/gen/envoy/extensions/filters/http/grpc_stats/v3/config_pb.js";
import type { Counter } from "../../contracts.js";
import { GrpcMessageCounter } from "../../grpc/grpc-message-counter.js";
import { grpcCallStatus, isGrpcRequest } from "../grpc-status.js";
import type { CompileContext, HttpFilter } from "../http-filter.js";
import type { RequestContext } from "../request-context.js";

interface CallStats {
  total: Counter;
  success: Counter;
  failure: Counter;
  requestMessages: Counter;
  responseMessages: Counter;
}

/** `/package.Service/Method` → ["package.Service", "Method"], or undefined for anything else. */
function serviceAndMethod(path: string): [string, string] | undefined {
  const q = path.indexOf("?");
  const p = q < 0 ? path : path.slice(0, q);
  const slash = p.indexOf("/", 1);
  if (!p.startsWith("/") || slash < 0 || slash === p.length - 1 || p.indexOf("/", slash + 1) >= 0) return undefined;
  return [p.slice(1, slash), p.slice(slash + 1)];
}

export function createGrpcStatsFilter(name: string, config: Any, cc: CompileContext): HttpFilter {
  const runtime = cc.runtime;
  if (!runtime) return { name };
  const cfg = anyUnpack(config, FilterConfigSchema);
  if (cfg?.enableUpstreamStats) cc.report(`${cc.field}.enable_upstream_stats`, "upstream_rq_time is not implemented");
  const spec = cfg?.perMethodStatSpecifier;
  const allMethods = spec?.case === "statsForAllMethods" && spec.value.value;
  const allowed = new Set<string>();
  if (spec?.case === "individualMethodStatsAllowlist") for (const s of spec.value.services) for (const m of s.methodNames) allowed.add(`${s.name}/${m}`);
  const replaceDots = cfg?.replaceDotsInGrpcServiceName ?? false;
  const stats = runtime.stats;
  const byName = new Map<string, CallStats>();
  const statsFor = (prefix: string): CallStats => {
    let s = byName.get(prefix);
    if (!s) {
      s = {
        total: stats.counter(`${prefix}total`),
        success: stats.counter(`${prefix}success`),
        failure: stats.counter(`${prefix}failure`),
        requestMessages: stats.counter(`${prefix}request_message_count`),
        responseMessages: stats.counter(`${prefix}response_message_count`),
      };
      byName.set(prefix, s);
    }
    return s;
  };
  return {
    name,
    decodeHeaders(ctx: RequestContext) {
      if (isGrpcRequest(ctx.headers)) {
        ctx.info.grpcMessages = { request: new GrpcMessageCounter(), response: new GrpcMessageCounter() };
      }
      return undefined;
    },
    onStreamComplete(ctx: RequestContext) {
      const info = ctx.info;
      const counts = info.grpcMessages;
      const cluster = info.upstreamCluster;
      if (!counts || cluster === undefined) return;
      let prefix = `cluster.${cluster}.grpc.`;
      const sm = serviceAndMethod(ctx.path);
      if (sm && (allMethods || allowed.has(`${sm[0]}/${sm[1]}`))) prefix += `${replaceDots ? sm[0].replace(/\./g, "_") : sm[0]}.${sm[1]}.`;
      const s = statsFor(prefix);
      const status = grpcCallStatus(info);
      s.total.inc();
      (status === "0" ? s.success : s.failure).inc();
      if (counts.request.count > 0) s.requestMessages.inc(counts.request.count);
      if (counts.response.count > 0) s.responseMessages.inc(counts.response.count);
    },
  };
}
