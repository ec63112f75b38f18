// A stats store as plain data, so --concurrency N workers (threads or processes) can send
// theirs to the primary, which merges them into one store for the admin API:
// Envoy has one store shared by its worker threads, so every counter and
// every per-connection gauge is the sum over workers.
import { CounterEntry, GaugeEntry, HistogramEntry, type HistogramUnit, type StatsStoreImpl } from "./stats-store.js";
import type { ExtractedName, TagProducer } from "./tag-extractor.js";

export interface StatsSnapshot {
  counters: Array<[name: string, tagged: ExtractedName, value: number]>;
  gauges: Array<[name: string, tagged: ExtractedName, value: number, importMode: "accumulate" | "never_import"]>;
  histograms: Array<[name: string, tagged: ExtractedName, unit: HistogramUnit, buckets: number[], count: number, sum: number]>;
}

/** Refreshes the store (server.* gauges) and copies every stat. */
export function snapshotStats(store: StatsStoreImpl): StatsSnapshot {
  store.refresh();
  return {
    counters: [...store.counters()].map((c) => [c.name, c.tagged, c.current]),
    gauges: [...store.gauges()].map((g) => [g.name, g.tagged, g.current, g.importMode]),
    histograms: [...store.histograms()].map((h) => [h.name, h.tagged, h.unit, [...h.buckets], h.count, h.sum]),
  };
}

// Process-wide facts each worker reports about itself: summing them would be
// wrong. server.state takes the worst (highest) value, server.live the lowest.
const FIRST_WORKER = new Set(["server.uptime", "server.concurrency", "server.version", "server.hot_restart_epoch"]);

function mergeGauge(name: string, importMode: "accumulate" | "never_import", a: number, b: number): number {
  if (name === "server.state") return Math.max(a, b);
  if (name === "server.live") return Math.min(a, b);
  if (FIRST_WORKER.has(name)) return a;
  // Memory and connection totals are per process: the proxy's is their sum.
  if (importMode === "never_import" && !name.startsWith("server.")) return a;
  return a + b;
}

/** One read-only store holding the sum of the workers' snapshots (first snapshot first). */
export function mergeStatsSnapshots(snapshots: readonly StatsSnapshot[], tagProducer: TagProducer): StatsStoreImpl {
  const counters = new Map<string, CounterEntry>();
  const gauges = new Map<string, GaugeEntry>();
  const histograms = new Map<string, HistogramEntry>();
  for (const s of snapshots) {
    for (const [name, tagged, value] of s.counters) {
      const c = counters.get(name);
      if (c) c.current += value;
      else counters.set(name, Object.assign(new CounterEntry(name, tagged), { current: value }));
    }
    for (const [name, tagged, value, mode] of s.gauges) {
      const g = gauges.get(name);
      if (g) g.current = mergeGauge(name, mode, g.current, value);
      else gauges.set(name, Object.assign(new GaugeEntry(name, tagged, mode), { current: value }));
    }
    for (const [name, tagged, unit, buckets, count, sum] of s.histograms) {
      let h = histograms.get(name);
      if (!h) histograms.set(name, (h = new HistogramEntry(name, tagged, unit)));
      for (let i = 0; i < h.buckets.length && i < buckets.length; i++) h.buckets[i]! += buckets[i]!;
      h.count += count;
      h.sum += sum;
    }
  }
  const readOnly = (what: string) => () => {
    throw new Error(`merged worker stats are read-only (${what})`);
  };
  return {
    tagProducer,
    counter: (name) => counters.get(name) ?? readOnly(`counter ${name}`)(),
    gauge: (name) => gauges.get(name) ?? readOnly(`gauge ${name}`)(),
    histogram: (name) => histograms.get(name) ?? readOnly(`histogram ${name}`)(),
    taggedCounter: (name) => readOnly(`counter ${name}`)(),
    taggedGauge: (name) => readOnly(`gauge ${name}`)(),
    taggedHistogram: (name) => readOnly(`histogram ${name}`)(),
    counters: () => counters.values(),
    gauges: () => gauges.values(),
    histograms: () => histograms.values(),
    onBeforeRender: readOnly("onBeforeRender"),
    refresh() {},
  };
}
