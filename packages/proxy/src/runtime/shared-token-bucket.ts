// One slot of a SharedBucketTable as a token bucket, with TokenBucket's
// semantics (starts full, tokens_per_fill per whole fill_interval since it was
// made, never above max_tokens, refilled lazily when asked) but safe when
// several threads take from it at once.
//
// A slot's whole mutable state is one 64-bit word: the number of fills already
// added (high 32 bits) and the tokens left (low 32 bits; max_tokens is a
// uint32 in the proto). A take reads the word, computes the refill due by now
// from the slot's fixed start, and publishes fills and tokens − 1 with one
// compare-exchange; if another thread changed the word meanwhile it starts
// over. No lock: a thread descheduled mid-take holds nobody up. The fill count
// lasts 2^32 intervals: 6.8 years at the 50 ms minimum fill_interval.
import type { Bucket, TokenBucketSpec } from "./token-bucket.js";

/** The per-slot arrays of a bucket table's memory (shared-bucket-table.ts owns the layout). */
export interface SharedBucketViews {
  words: BigUint64Array;
  starts: Float64Array;
}

const LOW32 = 0xffffffffn;

interface State {
  fills: number;
  tokens: number;
}

export class SharedTokenBucket implements Bucket {
  constructor(
    private readonly views: SharedBucketViews,
    private readonly slot: number,
    private readonly spec: TokenBucketSpec,
    private readonly now: () => number,
  ) {}

  tryConsume(): boolean {
    const now = this.now();
    for (;;) {
      const word = Atomics.load(this.views.words, this.slot);
      const { fills, tokens } = this.refilled(word, now);
      // Nothing to take and nothing due: the word is left as it is.
      if (tokens <= 0) return false;
      const next = (BigInt(fills) << 32n) | BigInt(tokens - 1);
      if (Atomics.compareExchange(this.views.words, this.slot, word, next) === word) return true;
    }
  }

  remaining(): number {
    return this.refilled(Atomics.load(this.views.words, this.slot), this.now()).tokens;
  }

  msUntilNextFill(): number {
    const now = this.now();
    const { fills } = this.refilled(Atomics.load(this.views.words, this.slot), now);
    return this.views.starts[this.slot]! + (fills + 1) * this.spec.fillIntervalMs - now;
  }

  /**
   * The word's state with the fills due at `now` added. A thread whose `now`
   * was read just before another's may find more fills recorded than it thinks
   * due: it adds none (never counts a fill twice, never takes one back).
   */
  private refilled(word: bigint, now: number): State {
    const { fillIntervalMs, tokensPerFill, maxTokens } = this.spec;
    const recorded = Number(word >> 32n);
    const tokens = Number(word & LOW32);
    const due = Math.floor((now - this.views.starts[this.slot]!) / fillIntervalMs);
    if (due <= recorded) return { fills: recorded, tokens };
    return { fills: due, tokens: Math.min(maxTokens, tokens + (due - recorded) * tokensPerFill) };
  }
}
