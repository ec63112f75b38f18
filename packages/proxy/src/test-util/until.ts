// Waiting in tests for something asynchronous to become true: poll the
// condition (sync or async) until it holds, and fail naming what never came.
export type Until = (cond: () => boolean | Promise<boolean>, what: string, timeoutMs?: number) => Promise<number>;

/** An `until(cond, what, timeoutMs?)` that polls every `stepMs` and by default gives up after `timeoutMs`; it resolves with the ms it waited. */
export function poller(defaults: { timeoutMs: number; stepMs: number }): Until {
  return async (cond, what, timeoutMs = defaults.timeoutMs) => {
    const t0 = Date.now();
    while (!(await cond())) {
      if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, defaults.stepMs));
    }
    return Date.now() - t0;
  };
}
