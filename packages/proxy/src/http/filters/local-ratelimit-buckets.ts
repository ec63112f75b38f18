// Where local rate limit buckets live, so they outlast the config objects that
// use them. Every xDS update recompiles listeners and route configs into new
// objects; if a bucket were made with its config, each push (even one that
// leaves the rate limit alone) would hand every client a full bucket again.
//
// A bucket is found by where its config sits (resource + field path) and by
// the bucket's own parameters. An update that keeps both gets the same bucket;
// changing max_tokens, tokens_per_fill, fill_interval or the per-connection
// switch, or moving the config elsewhere, starts a fresh one (as Envoy, whose
// bucket belongs to a filter config instance). Entries are held weakly: once no
// compiled config refers to a limiter, it is collected and its entry dropped.
import type { ConnInfo } from "../../listener/conn-info.js";
import { TokenBucket, type TokenBucketSpec } from "../../runtime/token-bucket.js";

/** The bucket(s) one rate limit config draws from: shared, or one per downstream connection. */
export class RateLimiter {
  private readonly shared: TokenBucket | undefined;
  /** local_rate_limit_per_downstream_connection: a connection's bucket goes when the connection does. */
  private readonly perConnection: WeakMap<ConnInfo, TokenBucket> | undefined;

  constructor(
    readonly spec: TokenBucketSpec,
    perConnection: boolean,
  ) {
    if (perConnection) this.perConnection = new WeakMap();
    else this.shared = new TokenBucket(spec);
  }

  bucketFor(conn: ConnInfo): TokenBucket {
    if (this.shared) return this.shared;
    let b = this.perConnection!.get(conn);
    if (!b) this.perConnection!.set(conn, (b = new TokenBucket(this.spec)));
    return b;
  }
}

export interface RateLimiterCache {
  /** The limiter for a config at `location` with these parameters, made on first use. */
  get(location: string, spec: TokenBucketSpec, perConnection: boolean): RateLimiter;
  /** Live entries (tests). */
  size(): number;
}

/** One per filter registry, so two runtimes in one process never share a bucket. */
export function createRateLimiterCache(): RateLimiterCache {
  const entries = new Map<string, WeakRef<RateLimiter>>();
  const cleanup = new FinalizationRegistry<string>((key) => {
    // A newer limiter may have taken the key since this one became unreachable.
    if (entries.get(key)?.deref() === undefined) entries.delete(key);
  });
  return {
    get(location, spec, perConnection) {
      const key = `${location}\u0000${spec.maxTokens}/${spec.tokensPerFill}/${spec.fillIntervalMs}/${perConnection ? "conn" : "shared"}`;
      const live = entries.get(key)?.deref();
      if (live) return live;
      const made = new RateLimiter(spec, perConnection);
      entries.set(key, new WeakRef(made));
      cleanup.register(made, key);
      return made;
    },
    size: () => entries.size,
  };
}
