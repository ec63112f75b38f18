// envoy.type.v3.TokenBucket as a value: starts full, gains tokens_per_fill per
// whole fill_interval, never holds more than max_tokens. Envoy refills on a
// timer; we compute the same refills lazily from the time elapsed when a token
// is asked for, so an idle bucket costs no timer and keeps no process alive.

/** Milliseconds from a monotonic clock (wall-clock jumps must not mint or lose tokens). */
export type Clock = () => number;

const monotonic: Clock = () => performance.now();

export interface TokenBucketSpec {
  maxTokens: number;
  tokensPerFill: number;
  fillIntervalMs: number;
}

/** What a request draws from: a worker's own bucket, or a slot shared by every worker thread (shared-token-bucket.ts). */
export interface Bucket {
  /** Takes one token if there is one. */
  tryConsume(): boolean;
  /** Tokens left now (x-ratelimit-remaining). */
  remaining(): number;
  /** Milliseconds until the next fill (x-ratelimit-reset). */
  msUntilNextFill(): number;
}

export class TokenBucket implements Bucket {
  private tokens: number;
  /** When the last whole interval ended; refills are counted from here, not from the last request. */
  private filledAt: number;

  constructor(
    private readonly spec: TokenBucketSpec,
    private readonly now: Clock = monotonic,
  ) {
    this.tokens = spec.maxTokens;
    this.filledAt = now();
  }

  /** Takes one token if there is one. */
  tryConsume(): boolean {
    this.refill();
    if (this.tokens <= 0) return false;
    this.tokens--;
    return true;
  }

  /** Tokens left now (x-ratelimit-remaining). */
  remaining(): number {
    this.refill();
    return this.tokens;
  }

  /** Milliseconds until the next fill (x-ratelimit-reset). */
  msUntilNextFill(): number {
    this.refill();
    return this.filledAt + this.spec.fillIntervalMs - this.now();
  }

  private refill(): void {
    const { fillIntervalMs, tokensPerFill, maxTokens } = this.spec;
    const elapsed = this.now() - this.filledAt;
    if (elapsed < fillIntervalMs) return;
    const fills = Math.floor(elapsed / fillIntervalMs);
    // Advance by whole intervals only, so the fill schedule keeps the phase a timer would have.
    this.filledAt += fills * fillIntervalMs;
    this.tokens = Math.min(maxTokens, this.tokens + fills * tokensPerFill);
  }
}
