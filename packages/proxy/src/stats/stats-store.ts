import type { Counter, Gauge, Histogram, StatsStore } from "../contracts.js";
import { createTagProducer, type ExtractedName, type Tag, type TagProducer } from "./tag-extractor.js";

/** Envoy's default histogram bucket bounds (HistogramSettingsImpl::defaultBuckets). */
export const DEFAULT_HISTOGRAM_BUCKETS: readonly number[] = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
];

export type HistogramUnit = "milliseconds" | "bytes" | "unspecified";

// Handles hold their own number so the data path's `inc()` is a field write,
// not a map lookup; names are tag-extracted once, when the handle is created.

export class CounterEntry implements Counter {
  readonly kind = "counter";
  current = 0;
  constructor(
    readonly name: string,
    readonly tagged: ExtractedName,
  ) {}
  inc(by = 1): void {
    this.current += by;
  }
  value(): number {
    return this.current;
  }
}

export class GaugeEntry implements Gauge {
  readonly kind = "gauge";
  current = 0;
  constructor(
    readonly name: string,
    readonly tagged: ExtractedName,
    readonly importMode: "accumulate" | "never_import",
  ) {}
  set(value: number): void {
    this.current = value;
  }
  inc(by = 1): void {
    this.current += by;
  }
  dec(by = 1): void {
    this.current -= by;
  }
  value(): number {
    return this.current;
  }
}

export class HistogramEntry implements Histogram {
  readonly kind = "histogram";
  /** Non-cumulative counts per DEFAULT_HISTOGRAM_BUCKETS bound, plus one overflow slot. */
  readonly buckets = new Float64Array(DEFAULT_HISTOGRAM_BUCKETS.length + 1);
  count = 0;
  sum = 0;
  constructor(
    readonly name: string,
    readonly tagged: ExtractedName,
    readonly unit: HistogramUnit,
  ) {}
  record(value: number): void {
    let i = 0;
    while (i < DEFAULT_HISTOGRAM_BUCKETS.length && value > DEFAULT_HISTOGRAM_BUCKETS[i]!) i++;
    this.buckets[i]! += 1;
    this.count += 1;
    this.sum += value;
  }
  /** Approximate quantile from the buckets (upper bound of the bucket holding it); NaN when empty. */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    const rank = q * this.count;
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i]!;
      if (seen >= rank && this.buckets[i]! > 0) return DEFAULT_HISTOGRAM_BUCKETS[i] ?? Infinity;
    }
    return DEFAULT_HISTOGRAM_BUCKETS[DEFAULT_HISTOGRAM_BUCKETS.length - 1]!;
  }
}

export type StatEntry = CounterEntry | GaugeEntry | HistogramEntry;

/** The store the admin and Prometheus renderers read. */
export interface StatsStoreImpl extends StatsStore {
  readonly tagProducer: TagProducer;
  counter(name: string): CounterEntry;
  gauge(name: string, importMode?: "accumulate" | "never_import"): GaugeEntry;
  histogram(name: string, unit?: HistogramUnit): HistogramEntry;
  taggedCounter(name: string, tags: readonly Tag[]): CounterEntry;
  taggedGauge(name: string, tags: readonly Tag[]): GaugeEntry;
  taggedHistogram(name: string, tags: readonly Tag[], unit?: HistogramUnit): HistogramEntry;
  counters(): Iterable<CounterEntry>;
  gauges(): Iterable<GaugeEntry>;
  histograms(): Iterable<HistogramEntry>;
  /** Refresh hooks (server.uptime, memory…) run before every render. */
  onBeforeRender(hook: () => void): void;
  refresh(): void;
}

export interface StatsStoreOptions {
  tagProducer?: TagProducer;
}

/** Envoy's full name for a stat created with explicit tags: the name, then `.tag.value` for each. */
function nameWithTags(name: string, tags: readonly Tag[]): string {
  let full = name;
  for (const [k, v] of tags) full += `.${k}.${v}`;
  return full;
}

export function createStatsStore(options: StatsStoreOptions = {}): StatsStoreImpl {
  const tagProducer = options.tagProducer ?? createTagProducer();
  const counters = new Map<string, CounterEntry>();
  const gauges = new Map<string, GaugeEntry>();
  const histograms = new Map<string, HistogramEntry>();
  const hooks: Array<() => void> = [];

  return {
    tagProducer,
    counter(name) {
      let c = counters.get(name);
      if (!c) counters.set(name, (c = new CounterEntry(name, tagProducer.produce(name))));
      return c;
    },
    gauge(name, importMode = "accumulate") {
      let g = gauges.get(name);
      if (!g) gauges.set(name, (g = new GaugeEntry(name, tagProducer.produce(name), importMode)));
      return g;
    },
    histogram(name, unit = "unspecified") {
      let h = histograms.get(name);
      if (!h) histograms.set(name, (h = new HistogramEntry(name, tagProducer.produce(name), unit)));
      return h;
    },
    taggedCounter(name, tags) {
      const full = nameWithTags(name, tags);
      let c = counters.get(full);
      if (!c) counters.set(full, (c = new CounterEntry(full, { name, tags: [...tags] })));
      return c;
    },
    taggedGauge(name, tags) {
      const full = nameWithTags(name, tags);
      let g = gauges.get(full);
      if (!g) gauges.set(full, (g = new GaugeEntry(full, { name, tags: [...tags] }, "accumulate")));
      return g;
    },
    taggedHistogram(name, tags, unit = "unspecified") {
      const full = nameWithTags(name, tags);
      let h = histograms.get(full);
      if (!h) histograms.set(full, (h = new HistogramEntry(full, { name, tags: [...tags] }, unit)));
      return h;
    },
    counters: () => counters.values(),
    gauges: () => gauges.values(),
    histograms: () => histograms.values(),
    onBeforeRender(hook) {
      hooks.push(hook);
    },
    refresh() {
      for (const hook of hooks) hook();
    },
  };
}
