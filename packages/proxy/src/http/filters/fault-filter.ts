// envoy.filters.http.fault: delay and abort injection (HTTPFault), with
// per-route overrides from typed_per_filter_config. Flags DI / FI as Envoy.
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import { HTTPFaultSchema, type HTTPFault } from "@weft/xds-api/gen/envoy/extensions/filters/http/fault/v3/fault_pb.js";
import type { FractionalPercent } from "@weft/xds-api/gen/envoy/type/v3/percent_pb.js";
import { ResourceRejectedError } from "../../contracts.js";
import { compileHeaderMatcher, type RouteMatcher } from "../../router/route-match.js";
import { durationMs } from "../../runtime/duration.js";
import type { CompileContext, HttpFilter, HttpFilterFactory } from "../http-filter.js";
import type { LocalReply } from "../local-reply.js";
import type { RequestContext } from "../request-context.js";

const TYPE = "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault";

interface FaultSpec {
  delayMs?: number;
  /** Delay from the x-envoy-fault-delay-request header. */
  headerDelay: boolean;
  delayFraction: number;
  abortStatus?: number;
  abortGrpc?: number;
  headerAbort: boolean;
  abortFraction: number;
  headers: RouteMatcher[];
  maxActive: number;
}

function fraction(p: FractionalPercent | undefined): number {
  if (!p) return 1;
  const d = p.denominator === 1 ? 10_000 : p.denominator === 2 ? 1_000_000 : 100;
  return Math.min(1, p.numerator / d);
}

function compileFault(any: Any, cc: CompileContext): FaultSpec {
  const f: HTTPFault | undefined = anyUnpack(any, HTTPFaultSchema);
  if (!f) throw new ResourceRejectedError(cc.resource, cc.field, `expected ${TYPE}, got ${any.typeUrl}`);
  const spec: FaultSpec = {
    headerDelay: false,
    delayFraction: 0,
    headerAbort: false,
    abortFraction: 0,
    headers: f.headers.map((h, i) => compileHeaderMatcher(h, cc.resource, `${cc.field}.headers[${i}]`)),
    maxActive: f.maxActiveFaults ?? Number.MAX_SAFE_INTEGER,
  };
  if (f.delay) {
    const d = f.delay.faultDelaySecifier;
    if (d.case === "fixedDelay") spec.delayMs = durationMs(d.value, 0);
    else if (d.case === "headerDelay") spec.headerDelay = true;
    spec.delayFraction = fraction(f.delay.percentage);
  }
  if (f.abort) {
    const a = f.abort.errorType;
    if (a.case === "httpStatus") {
      if (a.value < 200 || a.value >= 600) throw new ResourceRejectedError(cc.resource, `${cc.field}.abort.http_status`, `${a.value} is not in [200, 600)`);
      spec.abortStatus = a.value;
    } else if (a.case === "grpcStatus") spec.abortGrpc = a.value;
    else if (a.case === "headerAbort") spec.headerAbort = true;
    spec.abortFraction = fraction(f.abort.percentage);
  }
  if (f.responseRateLimit) cc.report("fault.response_rate_limit", "not implemented");
  if (f.upstreamCluster || f.downstreamNodes.length) cc.report("fault.upstream_cluster/downstream_nodes", "not implemented; faults apply to every request");
  return spec;
}

export const faultFilterFactory: HttpFilterFactory = {
  typeUrls: [TYPE],
  perRouteTypeUrls: [TYPE],
  compilePerRoute: (any, cc) => compileFault(any, cc),
  create(name, config, cc): HttpFilter {
    const base = config ? compileFault(config, cc) : undefined;
    let active = 0;
    return {
      name,
      decodeHeaders(ctx: RequestContext) {
        const spec = (ctx.route?.perFilter.get(name) ?? ctx.vhost?.perFilter.get(name) ?? base) as FaultSpec | undefined;
        if (!spec) return undefined;
        for (const m of spec.headers) if (!m(ctx)) return undefined;
        if (active >= spec.maxActive) return undefined;
        let delay = 0;
        if (spec.delayFraction > 0 && Math.random() < spec.delayFraction) {
          if (spec.headerDelay) delay = Number(ctx.headers["x-envoy-fault-delay-request"]) || 0;
          else delay = spec.delayMs ?? 0;
        }
        let abort: LocalReply | undefined;
        if (spec.abortFraction > 0 && Math.random() < spec.abortFraction) {
          let status = spec.abortStatus;
          if (spec.headerAbort) status = Number(ctx.headers["x-envoy-fault-abort-request"]) || undefined;
          if (spec.abortGrpc !== undefined) {
            abort = {
              status: 200,
              body: "",
              details: "fault_filter_abort",
              flag: "FI",
              headers: { "content-type": "application/grpc", "grpc-status": String(spec.abortGrpc), "grpc-message": "fault filter abort" },
            };
          } else if (status) abort = { status, body: "fault filter abort", details: "fault_filter_abort", flag: "FI" };
        }
        if (delay <= 0) return abort;
        active++;
        ctx.info.responseFlags.push("DI");
        return new Promise<LocalReply | undefined>((resolve) =>
          setTimeout(() => {
            active--;
            resolve(abort);
          }, delay),
        );
      },
    };
  },
};
