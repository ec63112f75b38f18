// envoy.filters.http.fault: delay and abort injection (HTTPFault), with
// per-route overrides from typed_per_filter_config, header control
// (x-envoy-fault-{delay,abort}-request[-percentage], x-envoy-fault-abort-grpc-request),
// downstream_nodes / upstream_cluster scoping, max_active_faults, Envoy's
// `http.<prefix>.fault.*` stats and the DI / FI flags.
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import { HTTPFaultSchema, type HTTPFault } from "@weft/xds-api/gen/envoy/extensions/filters/http/fault/v3/fault_pb.js";
import type { FractionalPercent } from "@weft/xds-api/gen/envoy/type/v3/percent_pb.js";
import { ResourceRejectedError } from "../../contracts.js";
import { compileHeaderMatcher, type RouteMatcher } from "../../router/route-match.js";
import { durationMs } from "../../runtime/duration.js";
import type { CompileContext, HttpFilter, HttpFilterFactory } from "../http-filter.js";
import type { LocalReply } from "../local-reply.js";
import type { RequestContext } from "../request-context.js";
import { NOOP_STATS } from "../../authz/noop-stats.js";

const TYPE = "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault";

interface FaultSpec {
  delayMs?: number;
  /** Delay from the x-envoy-fault-delay-request header. */
  headerDelay: boolean;
  delayFraction: number;
  /** FractionalPercent of the delay: header percentages are numerators over this denominator. */
  delayPercent: { numerator: number; denominator: number };
  abortStatus?: number;
  abortGrpc?: number;
  headerAbort: boolean;
  abortFraction: number;
  abortPercent: { numerator: number; denominator: number };
  headers: RouteMatcher[];
  maxActive: number;
  /** downstream_nodes: only requests whose x-envoy-downstream-service-node is listed. */
  downstreamNodes?: Set<string>;
  /** upstream_cluster: only requests routed to this cluster. */
  upstreamCluster?: string;
}

function percentOf(p: FractionalPercent | undefined): { numerator: number; denominator: number } {
  if (!p) return { numerator: 100, denominator: 100 };
  return { numerator: p.numerator, denominator: p.denominator === 1 ? 10_000 : p.denominator === 2 ? 1_000_000 : 100 };
}

function fraction(p: FractionalPercent | undefined): number {
  const { numerator, denominator } = percentOf(p);
  return Math.min(1, numerator / denominator);
}

/**
 * A header percentage is a numerator over the configured denominator, never
 * more than the configured numerator (Envoy: the header can only lower it).
 */
function headerFraction(v: string | string[] | undefined, cfg: { numerator: number; denominator: number }): number {
  const s = Array.isArray(v) ? v[0] : v;
  if (s === undefined || !/^\d+$/.test(s.trim())) return cfg.numerator / cfg.denominator;
  return Math.min(1, Math.min(Number(s.trim()), cfg.numerator) / cfg.denominator);
}

const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);

function compileFault(any: Any, cc: CompileContext): FaultSpec {
  const f: HTTPFault | undefined = anyUnpack(any, HTTPFaultSchema);
  if (!f) throw new ResourceRejectedError(cc.resource, cc.field, `expected ${TYPE}, got ${any.typeUrl}`);
  const spec: FaultSpec = {
    headerDelay: false,
    delayFraction: 0,
    delayPercent: percentOf(undefined),
    headerAbort: false,
    abortFraction: 0,
    abortPercent: percentOf(undefined),
    headers: f.headers.map((h, i) => compileHeaderMatcher(h, cc.resource, `${cc.field}.headers[${i}]`)),
    maxActive: f.maxActiveFaults ?? Number.MAX_SAFE_INTEGER,
  };
  if (f.delay) {
    const d = f.delay.faultDelaySecifier;
    if (d.case === "fixedDelay") spec.delayMs = durationMs(d.value, 0);
    else if (d.case === "headerDelay") spec.headerDelay = true;
    spec.delayFraction = fraction(f.delay.percentage);
    spec.delayPercent = percentOf(f.delay.percentage);
  }
  if (f.abort) {
    const a = f.abort.errorType;
    if (a.case === "httpStatus") {
      if (a.value < 200 || a.value >= 600) throw new ResourceRejectedError(cc.resource, `${cc.field}.abort.http_status`, `${a.value} is not in [200, 600)`);
      spec.abortStatus = a.value;
    } else if (a.case === "grpcStatus") spec.abortGrpc = a.value;
    else if (a.case === "headerAbort") spec.headerAbort = true;
    spec.abortFraction = fraction(f.abort.percentage);
    spec.abortPercent = percentOf(f.abort.percentage);
  }
  if (f.responseRateLimit) cc.report("fault.response_rate_limit", "not implemented");
  if (f.downstreamNodes.length) spec.downstreamNodes = new Set(f.downstreamNodes);
  if (f.upstreamCluster) spec.upstreamCluster = f.upstreamCluster;
  return spec;
}

export const faultFilterFactory: HttpFilterFactory = {
  typeUrls: [TYPE],
  perRouteTypeUrls: [TYPE],
  compilePerRoute: (any, cc) => compileFault(any, cc),
  create(name, config, cc): HttpFilter {
    const base = config ? compileFault(config, cc) : undefined;
    const store = cc.runtime?.stats ?? NOOP_STATS;
    const p = `http.${cc.statPrefix ?? ""}.fault.`;
    const stats = {
      delays: store.counter(p + "delays_injected"),
      aborts: store.counter(p + "aborts_injected"),
      overflow: store.counter(p + "faults_overflow"),
      active: store.gauge(p + "active_faults"),
    };
    let active = 0;
    return {
      name,
      decodeHeaders(ctx: RequestContext) {
        const spec = (ctx.route?.perFilter.get(name) ?? ctx.vhost?.perFilter.get(name) ?? base) as FaultSpec | undefined;
        if (!spec) return undefined;
        for (const m of spec.headers) if (!m(ctx)) return undefined;
        if (spec.downstreamNodes && !spec.downstreamNodes.has(first(ctx.headers["x-envoy-downstream-service-node"]) ?? "")) return undefined;
        if (spec.upstreamCluster !== undefined) {
          const a = ctx.route?.action;
          if (a?.kind !== "route" || a.cluster !== spec.upstreamCluster) return undefined;
        }
        const h = ctx.headers;
        // Header-controlled faults need their header; its percentage header may only lower the configured one.
        let delay = 0;
        if (spec.headerDelay) {
          const ms = Number(first(h["x-envoy-fault-delay-request"]));
          if (ms > 0 && Math.random() < headerFraction(h["x-envoy-fault-delay-request-percentage"], spec.delayPercent)) delay = ms;
        } else if (spec.delayMs && spec.delayFraction > 0 && Math.random() < spec.delayFraction) delay = spec.delayMs;
        let abort: LocalReply | undefined;
        if (spec.headerAbort) {
          const status = Number(first(h["x-envoy-fault-abort-request"]));
          const grpc = first(h["x-envoy-fault-abort-grpc-request"]);
          const pct = headerFraction(h["x-envoy-fault-abort-request-percentage"], spec.abortPercent);
          if (grpc !== undefined && /^\d+$/.test(grpc) && Math.random() < pct) abort = grpcAbort(Number(grpc));
          else if (status >= 200 && status < 600 && Math.random() < pct) abort = httpAbort(status);
        } else if (spec.abortFraction > 0 && Math.random() < spec.abortFraction) {
          if (spec.abortGrpc !== undefined) abort = grpcAbort(spec.abortGrpc);
          else if (spec.abortStatus) abort = httpAbort(spec.abortStatus);
        }
        if (!abort && delay <= 0) return undefined;
        if (active >= spec.maxActive) {
          stats.overflow.inc();
          return undefined;
        }
        if (abort) stats.aborts.inc();
        if (delay <= 0) return abort;
        stats.delays.inc();
        active++;
        stats.active.set(active);
        ctx.info.responseFlags.push("DI");
        return new Promise<LocalReply | undefined>((resolve) =>
          setTimeout(() => {
            active--;
            stats.active.set(active);
            resolve(abort);
          }, delay),
        );
      },
    };
  },
};

function httpAbort(status: number): LocalReply {
  return { status, body: "fault filter abort", details: "fault_filter_abort", flag: "FI" };
}

function grpcAbort(code: number): LocalReply {
  return {
    status: 200,
    body: "",
    details: "fault_filter_abort",
    flag: "FI",
    headers: { "content-type": "application/grpc", "grpc-status": String(code), "grpc-message": "fault filter abort" },
  };
}
