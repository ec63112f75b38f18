// Coalesces bursts of config changes into one push, as istiod's debounce does
// (PILOT_DEBOUNCE_AFTER = 100ms of quiet, PILOT_DEBOUNCE_MAX = 10s there; we
// cap at ≈1s so a steady trickle of changes still converges within a second).
import type { ConfigChange } from "../contracts.js";

export interface DebouncedChange extends ConfigChange {
  /** When the first change of this batch arrived (ms, performance.now()), for convergence time. */
  firstAt: number;
  /** How many source events were merged. */
  merged: number;
}

export interface DebouncerOptions {
  quietMs?: number;
  maxMs?: number;
  /** Called with the merged change; the next batch is not flushed until the returned promise settles. */
  flush: (change: DebouncedChange) => void | Promise<void>;
  onError?: (error: unknown) => void;
}

export interface Debouncer {
  add(change: ConfigChange): void;
  /** Flushes whatever is pending now (used on shutdown and in tests). */
  flushNow(): Promise<void>;
  close(): void;
}

/** Merges two changes: a full change absorbs an EDS-only one; EDS-only changes union their services (and Secrets). */
export function mergeChanges(a: ConfigChange, b: ConfigChange): ConfigChange {
  const kinds = new Set([...a.kinds, ...b.kinds]);
  const endpointsOnly = a.endpointsOnly && b.endpointsOnly;
  const endpointServices = new Set([...a.endpointServices, ...b.endpointServices]);
  const secrets = new Set([...(a.secrets ?? []), ...(b.secrets ?? [])]);
  return { kinds, endpointsOnly, endpointServices, ...(secrets.size > 0 ? { secrets } : {}) };
}

export function createDebouncer(options: DebouncerOptions): Debouncer {
  const quietMs = options.quietMs ?? 100;
  const maxMs = options.maxMs ?? 1000;
  let pending: DebouncedChange | undefined;
  let quietTimer: NodeJS.Timeout | undefined;
  let maxTimer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let closed = false;

  function clearTimers() {
    if (quietTimer) clearTimeout(quietTimer);
    if (maxTimer) clearTimeout(maxTimer);
    quietTimer = maxTimer = undefined;
  }

  async function fire(): Promise<void> {
    clearTimers();
    // One push at a time: a change arriving during a push waits for it, then
    // goes out as the next batch (istiod's "push in progress" serialization).
    if (running) {
      await running;
      if (!pending || quietTimer || maxTimer) return;
    }
    const batch = pending;
    pending = undefined;
    if (!batch || closed) return;
    running = (async () => {
      try {
        await options.flush(batch);
      } catch (error) {
        options.onError?.(error);
      }
    })();
    await running;
    running = undefined;
    if (pending && !quietTimer && !maxTimer) schedule();
  }

  function schedule() {
    if (quietTimer) clearTimeout(quietTimer);
    quietTimer = setTimeout(() => void fire(), quietMs);
    if (!maxTimer && pending) {
      const waited = performance.now() - pending.firstAt;
      maxTimer = setTimeout(() => void fire(), Math.max(0, maxMs - waited));
    }
  }

  return {
    add(change) {
      if (closed) return;
      if (pending) {
        const merged = mergeChanges(pending, change);
        pending = { ...merged, firstAt: pending.firstAt, merged: pending.merged + 1 };
      } else {
        pending = { ...mergeChanges(change, { kinds: new Set(), endpointsOnly: true, endpointServices: new Set() }), firstAt: performance.now(), merged: 1 };
      }
      if (!running) schedule();
    },
    flushNow: () => fire(),
    close() {
      closed = true;
      clearTimers();
      pending = undefined;
    },
  };
}
