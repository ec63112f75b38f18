export interface Backoff {
  /** The next delay in ms: doubling from `initialMs` up to `maxMs`, with ±50 % jitter so proxies don't reconnect in lockstep. */
  next(): number;
  reset(): void;
}

export function createBackoff(initialMs = 500, maxMs = 60_000, random: () => number = Math.random): Backoff {
  let attempt = 0;
  return {
    next() {
      const base = Math.min(maxMs, initialMs * 2 ** attempt);
      attempt = Math.min(attempt + 1, 30);
      return Math.min(maxMs, Math.round(base * (0.5 + random())));
    },
    reset() {
      attempt = 0;
    },
  };
}
