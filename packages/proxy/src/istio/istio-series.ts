// The label sets of Istio's standard metrics that one stats store holds,
// shared by every istio.stats instance counting into it (HTTP and TCP, and the
// new instances a listener update builds, which keep counting into the same
// series), and bounded: peers choose some label values, so without a cap a
// client inventing identities would grow memory without end. Istio bounds the
// same growth by rotating its stats scope (rescoping_duration).
import type { Logger } from "pino";
import type { StatsStore } from "../contracts.js";

/** Distinct label sets kept per stats store; past it, new series are not recorded (logged once). */
export const MAX_ISTIO_SERIES = 10_000;

export interface IstioSeries {
  /**
   * The series stored under `key`, made by `make` on first use; undefined when it is new and the
   * store already holds MAX_ISTIO_SERIES label sets. Callers keep their keys apart by a prefix of
   * their own (one key, one shape of series).
   */
  get<T extends object>(key: string, make: () => T): T | undefined;
  readonly size: number;
}

interface Shared {
  series: Map<string, object>;
  capLogged: boolean;
  logger: Logger;
}

// Per stats store: one per proxy, and tests run several proxies in one process.
const byStore = new WeakMap<StatsStore, Shared>();

/** The store's series table; `logger` reports the cap (the first caller's is kept). */
export function istioSeries(stats: StatsStore, logger: Logger): IstioSeries {
  let shared = byStore.get(stats);
  if (!shared) byStore.set(stats, (shared = { series: new Map(), capLogged: false, logger }));
  const s = shared;
  return {
    get<T extends object>(key: string, make: () => T): T | undefined {
      const hit = s.series.get(key);
      if (hit !== undefined) return hit as T;
      if (s.series.size >= MAX_ISTIO_SERIES) {
        if (!s.capLogged) s.logger.warn({ limit: MAX_ISTIO_SERIES }, "istio.stats: too many distinct label sets; new ones are not recorded (a peer may be sending made-up metadata)");
        s.capLogged = true;
        return undefined;
      }
      const made = make();
      s.series.set(key, made);
      return made;
    },
    get size() {
      return s.series.size;
    },
  };
}
