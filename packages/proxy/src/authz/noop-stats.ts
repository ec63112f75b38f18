// Stats handles for filters compiled without a runtime (pure compile checks).
import type { Counter, StatsStore } from "../contracts.js";

const counter: Counter = { inc() {}, value: () => 0 };

export const NOOP_STATS: StatsStore = {
  counter: () => counter,
  gauge: () => ({ set() {}, inc() {}, dec() {}, value: () => 0 }),
  histogram: () => ({ record() {} }),
  taggedCounter: () => counter,
  taggedGauge: () => ({ set() {}, inc() {}, dec() {}, value: () => 0 }),
  taggedHistogram: () => ({ record() {} }),
};
