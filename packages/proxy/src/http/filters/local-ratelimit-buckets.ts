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
//
// Under --concurrency N with worker threads the same key also finds a slot of
// the process's shared bucket table (runtime/shared-bucket-table.ts), so all
// workers draw from one bucket per config, as Envoy's do. Per-connection
// buckets stay here: a connection lives on one worker.
import type { Logger } from "pino";
import type { ConnInfo } from "../../listener/conn-info.js";
import type { SharedBucketTable } from "../../runtime/shared-bucket-table.js";
import { TokenBucket, type Bucket, type TokenBucketSpec } from "../../runtime/token-bucket.js";

/** The bucket(s) one rate limit config draws from: shared, or one per downstream connection. */
export class RateLimiter {
  private readonly shared: Bucket | undefined;
  /** local_rate_limit_per_downstream_connection: a connection's bucket goes when the connection does. */
  private readonly perConnection: WeakMap<ConnInfo, TokenBucket> | undefined;

  /** `shared`: the bucket every connection draws from (default: one of this worker's own). */
  constructor(
    readonly spec: TokenBucketSpec,
    perConnection: boolean,
    shared?: Bucket,
  ) {
    if (perConnection) this.perConnection = new WeakMap();
    else this.shared = shared ?? new TokenBucket(spec);
  }

  bucketFor(conn: ConnInfo): Bucket {
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

export interface RateLimiterCacheOptions {
  /** The process's shared bucket table (worker threads of --concurrency N > 1); absent: buckets are this worker's. */
  shared?: SharedBucketTable;
  /** Where the one warning goes when the shared table is full, and `unsharedNote`. */
  logger?: Pick<Logger, "warn">;
  /** Logged once, with the first non-per-connection bucket, by a worker whose buckets can't be shared (worker processes). */
  unsharedNote?: string;
}

/** One per filter registry, so two runtimes in one process never share a bucket unless given the same table. */
export function createRateLimiterCache(options: RateLimiterCacheOptions = {}): RateLimiterCache {
  const { shared, logger } = options;
  let unsharedNote = options.unsharedNote;
  let warnedFull = false;
  const sharedBucket = (key: string, spec: TokenBucketSpec): Bucket | undefined => {
    if (unsharedNote) {
      logger?.warn(unsharedNote);
      unsharedNote = undefined;
    }
    if (!shared) return undefined;
    const b = shared.bucket(key, spec);
    if (!b && !warnedFull) {
      warnedFull = true;
      logger?.warn({ capacity: shared.capacity }, "local_ratelimit: the shared bucket table is full; new rate limit configs get a bucket per worker (a process admits up to N × max_tokens per fill_interval)");
    }
    return b;
  };
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
      const made = new RateLimiter(spec, perConnection, perConnection ? undefined : sharedBucket(key, spec));
      entries.set(key, new WeakRef(made));
      cleanup.register(made, key);
      return made;
    },
    size: () => entries.size,
  };
}
