// envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit → a validated
// LocalRateLimitSpec. The one place that reads the proto; a bad config throws
// ResourceRejectedError naming the field, so the resource is NACKed.
import { anyUnpack, type Any } from "@bufbuild/protobuf/wkt";
import { LocalRateLimitSchema, type LocalRateLimit } from "@weft/xds-api/gen/envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit_pb.js";
import type { HeaderValueOption, RuntimeFractionalPercent } from "@weft/xds-api/gen/envoy/config/core/v3/base_pb.js";
import type { TokenBucket } from "@weft/xds-api/gen/envoy/type/v3/token_bucket_pb.js";
import { ResourceRejectedError } from "../../contracts.js";
import { compileHeaderMutation, type HeaderMutation } from "../../router/header-mutation.js";
import { durationMs } from "../../runtime/duration.js";
import type { TokenBucketSpec } from "../../runtime/token-bucket.js";
import type { CompileContext } from "../http-filter.js";
import { compileLocalDescriptors, type LocalDescriptorSpec } from "./local-ratelimit-descriptors.js";

export const LOCAL_RATELIMIT_TYPE_URL = "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit";

/** Envoy refuses faster refills (the fill timer's floor); so do we, though our refill is lazy. */
export const MIN_FILL_INTERVAL_MS = 50;

/** A FractionalPercent's default_value as numerator over denominator. */
export interface Fraction {
  numerator: number;
  denominator: number;
}

export interface LocalRateLimitSpec {
  /** Stats live under `<statPrefix>.http_local_rate_limit.`. */
  statPrefix: string;
  /** Absent: this config limits nothing (Envoy's HCM-level filter that only names stat_prefix). */
  bucket?: TokenBucketSpec;
  /** filter_enabled: share of requests checked against the bucket (0 when unset, as Envoy). */
  enabled: Fraction;
  /** filter_enforced: share of over-limit requests that are refused (0 when unset, as Envoy). */
  enforced: Fraction;
  status: number;
  /** rate_limited_as_resource_exhausted: RESOURCE_EXHAUSTED (8) instead of the status' mapping. */
  grpcStatus?: string;
  responseHeaders: HeaderMutation;
  requestHeadersWhenNotEnforced: HeaderMutation;
  perConnection: boolean;
  /** enable_x_ratelimit_headers: DRAFT_VERSION_03's x-ratelimit-limit/-remaining/-reset. */
  xRateLimitHeaders: boolean;
  /** descriptors, each with its own bucket; empty: route rate_limits are never evaluated (as Envoy). */
  descriptors: LocalDescriptorSpec[];
  /** stage: only the route's rate_limits of this stage produce descriptors. */
  stage: number;
  /** vh_rate_limits: whether the virtual host's rate_limits add to (INCLUDE), stand in for (OVERRIDE) or never join (IGNORE) the route's. */
  vhRateLimits: "OVERRIDE" | "INCLUDE" | "IGNORE";
  /** always_consume_default_token_bucket (default true): false takes from the default bucket only when no descriptor matched. */
  alwaysConsumeDefault: boolean;
}

const NEVER: Fraction = { numerator: 0, denominator: 100 };
const DENOMINATORS = [100, 10_000, 1_000_000];

function fraction(p: RuntimeFractionalPercent | undefined, cc: CompileContext, name: string): Fraction {
  if (!p) return NEVER;
  // Reported under a fixed path so an Istio config that sets the key on every route warns once.
  if (p.runtimeKey) cc.report(`local_ratelimit.${name}.runtime_key`, "no runtime layer: default_value applies");
  const d = p.defaultValue;
  if (!d) return NEVER;
  return { numerator: d.numerator, denominator: DENOMINATORS[d.denominator] ?? 100 };
}

/** `f`: the TokenBucket's field path, for NACKs. */
function compileBucket(tb: TokenBucket, cc: CompileContext, f = `${cc.field}.token_bucket`): TokenBucketSpec {
  if (tb.maxTokens <= 0) throw new ResourceRejectedError(cc.resource, `${f}.max_tokens`, `must be greater than 0, got ${tb.maxTokens}`);
  if (tb.tokensPerFill !== undefined && tb.tokensPerFill <= 0) {
    throw new ResourceRejectedError(cc.resource, `${f}.tokens_per_fill`, `must be greater than 0, got ${tb.tokensPerFill}`);
  }
  if (!tb.fillInterval) throw new ResourceRejectedError(cc.resource, `${f}.fill_interval`, "is required");
  const ms = durationMs(tb.fillInterval, 0);
  if (ms < MIN_FILL_INTERVAL_MS) {
    throw new ResourceRejectedError(cc.resource, `${f}.fill_interval`, `${ms}ms is below the ${MIN_FILL_INTERVAL_MS}ms minimum of local rate limit token buckets`);
  }
  return { maxTokens: tb.maxTokens, tokensPerFill: tb.tokensPerFill ?? 1, fillIntervalMs: ms };
}

/**
 * `perRoute`: a typed_per_filter_config must carry its own bucket (Envoy rejects
 * one without). At the HCM a bucketless config is how the filter is switched on
 * for routes that bring their own, so it is only refused when it also sets
 * filter_enabled, which could then never limit anything.
 */
export function compileLocalRateLimit(any: Any, cc: CompileContext, perRoute: boolean): LocalRateLimitSpec {
  const c: LocalRateLimit | undefined = anyUnpack(any, LocalRateLimitSchema);
  if (!c) throw new ResourceRejectedError(cc.resource, cc.field, `expected ${LOCAL_RATELIMIT_TYPE_URL}, got ${any.typeUrl}`);
  if (!c.statPrefix) throw new ResourceRejectedError(cc.resource, `${cc.field}.stat_prefix`, "must not be empty");
  if (!c.tokenBucket && (perRoute || c.filterEnabled)) {
    const why = perRoute ? "a per-route local rate limit config needs its own bucket" : "filter_enabled is set but there is no bucket to check";
    throw new ResourceRejectedError(cc.resource, `${cc.field}.token_bucket`, `is required: ${why}`);
  }
  reportUnimplemented(c, cc);
  if (c.stage > 10) throw new ResourceRejectedError(cc.resource, `${cc.field}.stage`, `must be at most 10, got ${c.stage}`);
  const code = c.status?.code ?? 0;
  const bucket = c.tokenBucket ? compileBucket(c.tokenBucket, cc) : undefined;
  return {
    statPrefix: c.statPrefix,
    bucket,
    enabled: fraction(c.filterEnabled, cc, "filter_enabled"),
    enforced: fraction(c.filterEnforced, cc, "filter_enforced"),
    // Envoy: "If this is set to < 400, 429 will be used instead."
    status: code >= 400 ? code : 429,
    grpcStatus: c.rateLimitedAsResourceExhausted ? "8" : undefined,
    responseHeaders: headers(c.responseHeadersToAdd, "response_headers_to_add", cc),
    requestHeadersWhenNotEnforced: headers(c.requestHeadersToAddWhenNotEnforced, "request_headers_to_add_when_not_enforced", cc),
    perConnection: c.localRateLimitPerDownstreamConnection,
    xRateLimitHeaders: c.enableXRatelimitHeaders === 1,
    descriptors: compileLocalDescriptors(c.descriptors, bucket, cc, (tb, f) => compileBucket(tb, cc, f)),
    stage: c.stage,
    vhRateLimits: c.vhRateLimits === 1 ? "INCLUDE" : c.vhRateLimits === 2 ? "IGNORE" : "OVERRIDE",
    alwaysConsumeDefault: c.alwaysConsumeDefaultTokenBucket ?? true,
  };
}

/** compileHeaderMutation names fields `<prefix>_to_add[i]`; keys are checked first so a NACK names this filter's field. */
function headers(list: HeaderValueOption[], field: string, cc: CompileContext): HeaderMutation {
  list.forEach((o, i) => {
    if (!o.header?.key) throw new ResourceRejectedError(cc.resource, `${cc.field}.${field}[${i}].header.key`, "header key is required");
  });
  return compileHeaderMutation(list, [], cc.resource, `${cc.field}.${field.replace(/_to_add.*$/, "")}`, cc.report);
}

/** Fields we accept but do not act on, each reported once under a fixed path. */
function reportUnimplemented(c: LocalRateLimit, cc: CompileContext): void {
  if (c.localClusterRateLimit) cc.report("local_ratelimit.local_cluster_rate_limit", "not implemented: the bucket is this proxy's alone");
}
