// LocalRateLimit.descriptors: configured descriptors, each with its own token
// bucket, matched against the descriptors a request's route rate_limits
// produce. Envoy's rules (filters/common/local_ratelimit/local_ratelimit_impl.cc):
//
// - a configured descriptor matches a request descriptor with the same entries
//   in the same order (no partial or subset match); an entry configured without
//   a value matches any value of its key, each distinct value with a bucket of
//   its own, the most recent 20 kept (Envoy ≥ 1.34's dynamic descriptors and
//   its default max_dynamic_descriptors);
// - every request descriptor may match; the matched buckets are consumed
//   slowest-filling first, and the first that is empty refuses the request
//   (the ones after it keep their tokens);
// - the default bucket is consumed too unless a descriptor matched and
//   always_consume_default_token_bucket is false;
// - the bucket that decided (the refusing one; when allowed, the slowest
//   matched descriptor's, else the default) feeds x-ratelimit-*.
import type { LocalRateLimitDescriptor } from "@weft/xds-api/gen/envoy/extensions/common/ratelimit/v3/ratelimit_pb.js";
import type { TokenBucket } from "@weft/xds-api/gen/envoy/type/v3/token_bucket_pb.js";
import { ResourceRejectedError } from "../../contracts.js";
import type { ConnInfo } from "../../listener/conn-info.js";
import { descriptorId, type RequestDescriptor } from "../../router/rate-limit-policy.js";
import type { Bucket, TokenBucketSpec } from "../../runtime/token-bucket.js";
import type { CompileContext } from "../http-filter.js";
import { RateLimiter, type RateLimiterCache } from "./local-ratelimit-buckets.js";

/** Envoy's default max_dynamic_descriptors (the pinned API has no field to change it). */
export const MAX_DYNAMIC_DESCRIPTORS = 20;

export interface LocalDescriptorSpec {
  /** Entries flattened: [key0, value0, key1, value1…]; "" as a value is a wildcard. */
  entries: string[];
  id: string;
  wildcard: boolean;
  bucket: TokenBucketSpec;
  /** Tokens per second; matched buckets are consumed from the slowest up. */
  fillRate: number;
}

/**
 * `defaultBucket`: the config's token_bucket, whose fill_interval every descriptor's must be a
 * multiple of (the pinned API's rule: Envoy's descriptor buckets refilled on the default's timer).
 */
export function compileLocalDescriptors(
  list: readonly LocalRateLimitDescriptor[],
  defaultBucket: TokenBucketSpec | undefined,
  cc: CompileContext,
  bucketOf: (tb: TokenBucket, field: string) => TokenBucketSpec,
): LocalDescriptorSpec[] {
  if (list.length === 0) return [];
  if (!defaultBucket) {
    throw new ResourceRejectedError(cc.resource, `${cc.field}.token_bucket`, "is required with descriptors: their fill_interval must be a multiple of its");
  }
  const seen = new Map<string, number>();
  return list.map((d, i) => {
    const f = `${cc.field}.descriptors[${i}]`;
    if (d.entries.length === 0) throw new ResourceRejectedError(cc.resource, `${f}.entries`, "at least one entry is required");
    const entries: string[] = [];
    let wildcard = false;
    d.entries.forEach((e, j) => {
      if (!e.key) throw new ResourceRejectedError(cc.resource, `${f}.entries[${j}].key`, "must not be empty");
      if (!e.value) wildcard = true;
      entries.push(e.key, e.value);
    });
    if (!d.tokenBucket) throw new ResourceRejectedError(cc.resource, `${f}.token_bucket`, "is required");
    const bucket = bucketOf(d.tokenBucket, `${f}.token_bucket`);
    if (bucket.fillIntervalMs % defaultBucket.fillIntervalMs !== 0) {
      throw new ResourceRejectedError(
        cc.resource,
        `${f}.token_bucket.fill_interval`,
        `${bucket.fillIntervalMs}ms is not a multiple of the token_bucket's fill_interval (${defaultBucket.fillIntervalMs}ms)`,
      );
    }
    const id = descriptorId(entries);
    const twin = seen.get(id);
    if (twin !== undefined) {
      throw new ResourceRejectedError(cc.resource, `${f}.entries`, `duplicate descriptor in the local rate descriptor: ${show(entries)} (also descriptors[${twin}])`);
    }
    seen.set(id, i);
    return { entries, id, wildcard, bucket, fillRate: bucket.tokensPerFill / (bucket.fillIntervalMs / 1000) };
  });
}

function show(entries: readonly string[]): string {
  const parts: string[] = [];
  for (let i = 0; i < entries.length; i += 2) parts.push(`${entries[i]}=${entries[i + 1]}`);
  return parts.join(", ");
}

interface Limiter {
  spec: LocalDescriptorSpec;
  limiter: RateLimiter;
}

interface Wildcard {
  spec: LocalDescriptorSpec;
  /** Per request-descriptor id, in least- to most-recently-used order (a Map keeps insertion order). */
  recent: Map<string, RateLimiter>;
}

/** What decided a request: allowed or not, and the bucket (with its limits) behind that answer. */
export interface Decision {
  allowed: boolean;
  limiter: RateLimiter;
  bucket: Bucket;
}

/** One config's descriptor buckets, found by where the config sits so they outlive xDS updates as the default's does. */
export class DescriptorLimiters {
  private readonly exact = new Map<string, Limiter>();
  private readonly wildcards: Wildcard[] = [];

  constructor(
    specs: readonly LocalDescriptorSpec[],
    location: string,
    cache: RateLimiterCache,
    private readonly perConnection: boolean,
  ) {
    specs.forEach((spec, i) => {
      if (spec.wildcard) this.wildcards.push({ spec, recent: new Map() });
      // Keyed by the descriptor's entries too, so reordering descriptors keeps each one's bucket.
      else this.exact.set(spec.id, { spec, limiter: cache.get(`${location}\u0000descriptor[${i}]\u0000${spec.id}`, spec.bucket, perConnection) });
    });
  }

  /**
   * Envoy's requestAllowed over the request's descriptors; `fallback` is the config's default
   * bucket. Allocates only for requests that match a descriptor.
   */
  decide(requestDescriptors: readonly RequestDescriptor[], fallback: RateLimiter, conn: ConnInfo, alwaysConsumeDefault: boolean): Decision {
    let matched: Limiter[] | undefined;
    for (const d of requestDescriptors) {
      const m = this.exact.get(d.id) ?? this.dynamic(d);
      if (m) (matched ??= []).push(m);
    }
    if (matched && matched.length > 1) matched.sort((a, b) => a.spec.fillRate - b.spec.fillRate);
    if (matched) {
      for (const m of matched) {
        const bucket = m.limiter.bucketFor(conn);
        if (!bucket.tryConsume()) return { allowed: false, limiter: m.limiter, bucket };
      }
    }
    const first = matched?.[0];
    if (!first || alwaysConsumeDefault) {
      const bucket = fallback.bucketFor(conn);
      if (!bucket.tryConsume()) return { allowed: false, limiter: fallback, bucket };
      if (!first) return { allowed: true, limiter: fallback, bucket };
    }
    return { allowed: true, limiter: first!.limiter, bucket: first!.limiter.bucketFor(conn) };
  }

  /** A wildcard descriptor's bucket for this request descriptor's values, made on first sight. */
  private dynamic(d: RequestDescriptor): Limiter | undefined {
    for (const w of this.wildcards) {
      if (!wildcardMatches(w.spec.entries, d.entries)) continue;
      let limiter = w.recent.get(d.id);
      if (limiter) w.recent.delete(d.id);
      else {
        limiter = new RateLimiter(w.spec.bucket, this.perConnection);
        if (w.recent.size >= MAX_DYNAMIC_DESCRIPTORS) w.recent.delete(w.recent.keys().next().value!);
      }
      w.recent.set(d.id, limiter);
      return { spec: w.spec, limiter };
    }
    return undefined;
  }
}

/** Same keys in the same order; each configured value equal, or empty (any value). */
function wildcardMatches(config: readonly string[], request: readonly string[]): boolean {
  if (config.length !== request.length) return false;
  for (let i = 0; i < config.length; i += 2) {
    if (config[i] !== request[i]) return false;
    const v = config[i + 1];
    if (v && v !== request[i + 1]) return false;
  }
  return true;
}
