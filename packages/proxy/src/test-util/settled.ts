// Waiting for a measured quantity to stop moving, for tests that read
// buffered bytes or memory after a transfer stalls: polls every 50 ms.
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until `f()` has changed by no more than `tolerance` for `quietMs` (or
 * `maxMs` pass) and returns its last value.
 */
export async function settled(f: () => number, opts: { quietMs?: number; maxMs?: number; tolerance?: number } = {}): Promise<number> {
  const { quietMs = 800, maxMs = 10_000, tolerance = 0 } = opts;
  const end = Date.now() + maxMs;
  let last = f();
  let since = Date.now();
  while (Date.now() < end) {
    await sleep(50);
    const v = f();
    if (Math.abs(v - last) > tolerance) [last, since] = [v, Date.now()];
    else if (Date.now() - since >= quietMs) break;
  }
  return tolerance === 0 ? last : f();
}
