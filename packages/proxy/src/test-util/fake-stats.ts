// In-memory StatsStore for tests (the real one belongs to the control surface).
import type { Counter, Gauge, Histogram, StatsStore } from "../contracts.js";

export interface FakeStats extends StatsStore {
  get(name: string): number | undefined;
  names(): string[];
}

export function createFakeStats(): FakeStats {
  const values = new Map<string, number>();
  const counters = new Map<string, Counter>();
  const gauges = new Map<string, Gauge>();
  const hists = new Map<string, Histogram>();
  return {
    counter(name) {
      let c = counters.get(name);
      if (!c) {
        values.set(name, values.get(name) ?? 0);
        c = { inc: (by = 1) => void values.set(name, (values.get(name) ?? 0) + by), value: () => values.get(name) ?? 0 };
        counters.set(name, c);
      }
      return c;
    },
    gauge(name) {
      let g = gauges.get(name);
      if (!g) {
        values.set(name, values.get(name) ?? 0);
        g = {
          set: (v) => void values.set(name, v),
          inc: (by = 1) => void values.set(name, (values.get(name) ?? 0) + by),
          dec: (by = 1) => void values.set(name, (values.get(name) ?? 0) - by),
          value: () => values.get(name) ?? 0,
        };
        gauges.set(name, g);
      }
      return g;
    },
    histogram(name) {
      let h = hists.get(name);
      if (!h) hists.set(name, (h = { record: () => {} }));
      return h;
    },
    taggedCounter(name, tags) {
      return this.counter(name + tags.map(([k, v]) => `.${k}.${v}`).join(""));
    },
    taggedGauge(name, tags) {
      return this.gauge(name + tags.map(([k, v]) => `.${k}.${v}`).join(""));
    },
    taggedHistogram(name, tags) {
      return this.histogram(name + tags.map(([k, v]) => `.${k}.${v}`).join(""));
    },
    get: (n) => values.get(n),
    names: () => [...values.keys()],
  };
}
