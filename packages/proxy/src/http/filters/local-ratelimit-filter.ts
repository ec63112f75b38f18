// envoy.filters.http.local_ratelimit: a token bucket per filter config (or per
// downstream connection), overridden by a route's or virtual host's
// typed_per_filter_config, with Envoy's decision order and stats:
// enabled → (ok | rate_limited → (not enforced: request headers added | enforced: 429)).
// A config with descriptors also matches the descriptors the route's (and
// virtual host's) rate_limits produce, each with its own bucket
// (local-ratelimit-descriptors.ts); without descriptors nothing is evaluated.
import type { Any } from "@bufbuild/protobuf/wkt";
import type { Counter, StatsStore } from "../../contracts.js";
import { NOOP_STATS } from "../../authz/noop-stats.js";
import { applyHeaderMutation } from "../../router/header-mutation.js";
import type { CompileContext, HttpFilter, HttpFilterFactory } from "../http-filter.js";
import type { LocalReply } from "../local-reply.js";
import { firstHeaderValue, type RequestContext } from "../request-context.js";
import { populateDescriptors, type DescriptorInputs, type RequestDescriptor } from "../../router/rate-limit-policy.js";
import type { Bucket } from "../../runtime/token-bucket.js";
import { DescriptorLimiters } from "./local-ratelimit-descriptors.js";
import { compileLocalRateLimit, LOCAL_RATELIMIT_TYPE_URL, type Fraction, type LocalRateLimitSpec } from "./local-ratelimit-config.js";
import { createRateLimiterCache, type RateLimiter, type RateLimiterCache } from "./local-ratelimit-buckets.js";

/** A compiled config and the limiter it draws from (absent when the config has no bucket). */
interface CompiledLimit {
  spec: LocalRateLimitSpec;
  limiter?: RateLimiter;
  /** Absent when the config has no descriptors: the default bucket alone decides. */
  descriptors?: DescriptorLimiters;
}

interface LimitStats {
  enabled: Counter;
  enforced: Counter;
  rateLimited: Counter;
  ok: Counter;
}

/** Envoy's `<stat_prefix>.http_local_rate_limit.*`; the default tag extractor turns the prefix into a label. */
function limitStats(store: StatsStore, statPrefix: string): LimitStats {
  const p = `${statPrefix}.http_local_rate_limit.`;
  return { enabled: store.counter(p + "enabled"), enforced: store.counter(p + "enforced"), rateLimited: store.counter(p + "rate_limited"), ok: store.counter(p + "ok") };
}

/** Envoy's featureEnabled over a FractionalPercent: 0 never draws, ≥ 100 % always passes. */
function sampled(f: Fraction): boolean {
  if (f.numerator <= 0) return false;
  if (f.numerator >= f.denominator) return true;
  return Math.random() * f.denominator < f.numerator;
}

/**
 * The descriptors the route's and virtual host's rate_limits produce at the config's stage
 * (Envoy's Filter::populateDescriptors): none for a request without a forwarding route;
 * vh_rate_limits (or the route's include_vh_rate_limits) says whether the virtual host's join.
 */
function requestDescriptors(ctx: RequestContext, spec: LocalRateLimitSpec, localCluster: string): RequestDescriptor[] {
  const out: RequestDescriptor[] = [];
  const route = ctx.route;
  if (!route || route.action.kind !== "route") return out;
  const a = route.action;
  const inputs: DescriptorInputs = { localCluster, routeCluster: a.cluster ?? (a.clusterHeader ? firstHeaderValue(ctx, a.clusterHeader) : undefined) };
  populateDescriptors(route.rateLimits, spec.stage, ctx, inputs, out);
  const vh = route.includeVhRateLimits ? "INCLUDE" : spec.vhRateLimits;
  if (vh === "INCLUDE" || (vh === "OVERRIDE" && !route.rateLimits)) populateDescriptors(route.vhost.rateLimits, spec.stage, ctx, inputs, out);
  return out;
}

function limitedReply(spec: LocalRateLimitSpec): LocalReply {
  return { status: spec.status, body: "local_rate_limited", details: "local_rate_limited", flag: "RL", grpcStatus: spec.grpcStatus };
}

/** One factory per filter registry: its limiter cache is what keeps buckets across xDS updates. */
export function createLocalRateLimitFilterFactory(cache: RateLimiterCache = createRateLimiterCache()): HttpFilterFactory {
  const compile = (any: Any, cc: CompileContext, perRoute: boolean): CompiledLimit => {
    const spec = compileLocalRateLimit(any, cc, perRoute);
    // Keyed by place: two routes with the same config still get a bucket each, as in Envoy.
    const location = `${cc.resource}\u0000${cc.field}`;
    const limiter = spec.bucket ? cache.get(location, spec.bucket, spec.perConnection) : undefined;
    const descriptors = spec.descriptors.length ? new DescriptorLimiters(spec.descriptors, location, cache, spec.perConnection) : undefined;
    return { spec, limiter, descriptors };
  };
  return {
    typeUrls: [LOCAL_RATELIMIT_TYPE_URL],
    perRouteTypeUrls: [LOCAL_RATELIMIT_TYPE_URL],
    compilePerRoute: (any, cc) => compile(any, cc, true),
    create(name, config, cc): HttpFilter {
      const base = config ? compile(config, cc, false) : undefined;
      const store = cc.runtime?.stats ?? NOOP_STATS;
      // Per-route configs are compiled without a stats store; their counters are made on first use here.
      const statsOf = new WeakMap<LocalRateLimitSpec, LimitStats>();
      const stats = (spec: LocalRateLimitSpec): LimitStats => {
        let s = statsOf.get(spec);
        if (!s) statsOf.set(spec, (s = limitStats(store, spec.statPrefix)));
        return s;
      };
      if (base) stats(base.spec);
      const localCluster = cc.runtime?.node?.cluster ?? "";
      return {
        name,
        decodeHeaders(ctx: RequestContext) {
          // The most specific config wins whole; the HCM's applies only where no route or vhost has one.
          const c = (ctx.route?.perFilter.get(name) ?? ctx.vhost?.perFilter.get(name) ?? base) as CompiledLimit | undefined;
          if (!c?.limiter || !sampled(c.spec.enabled)) return undefined;
          const { spec } = c;
          const s = stats(spec);
          s.enabled.inc();
          let limiter = c.limiter;
          let bucket: Bucket;
          let allowed: boolean;
          if (c.descriptors) {
            const d = c.descriptors.decide(requestDescriptors(ctx, spec, localCluster), limiter, ctx.conn, spec.alwaysConsumeDefault);
            ({ limiter, bucket, allowed } = d);
          } else {
            bucket = limiter.bucketFor(ctx.conn);
            allowed = bucket.tryConsume();
          }
          if (spec.xRateLimitHeaders) {
            const h = (ctx.extraResponseHeaders ??= {});
            h["x-ratelimit-limit"] = String(limiter.spec.maxTokens);
            h["x-ratelimit-remaining"] = String(bucket.remaining());
            h["x-ratelimit-reset"] = String(Math.ceil(bucket.msUntilNextFill() / 1000));
          }
          if (allowed) {
            s.ok.inc();
            return undefined;
          }
          s.rateLimited.inc();
          if (!sampled(spec.enforced)) {
            applyHeaderMutation(ctx.headers, spec.requestHeadersWhenNotEnforced, ctx);
            return undefined;
          }
          s.enforced.inc();
          // Response headers ride extraResponseHeaders, which the local reply's header finishing applies.
          const h = (ctx.extraResponseHeaders ??= {});
          h["x-envoy-ratelimited"] = "true";
          applyHeaderMutation(h, spec.responseHeaders, ctx);
          return limitedReply(spec);
        },
      };
    },
  };
}
