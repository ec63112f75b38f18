// A small Prometheus registry: counters, gauges and histograms with labels,
// rendered in the text exposition format (version 0.0.4). prom-client is not
// installed in the workspace and the metrics discovery exports are few, so a
// hundred-odd lines here beat a new dependency (see README, "Metrics").

export type Labels = Readonly<Record<string, string>>;

interface Series<V> {
  labels: Labels;
  value: V;
}

interface HistogramValue {
  buckets: number[];
  sum: number;
  count: number;
}

export interface Counter {
  inc(labels?: Labels, by?: number): void;
  get(labels?: Labels): number;
}

export interface Gauge {
  set(value: number, labels?: Labels): void;
  inc(labels?: Labels, by?: number): void;
  dec(labels?: Labels, by?: number): void;
  get(labels?: Labels): number;
}

export interface Histogram {
  observe(value: number, labels?: Labels): void;
  /** Count and sum, for tests and the bench. */
  get(labels?: Labels): { count: number; sum: number };
}

export interface MetricsRegistry {
  counter(name: string, help: string): Counter;
  gauge(name: string, help: string, collect?: (gauge: Gauge) => void): Gauge;
  histogram(name: string, help: string, buckets: readonly number[]): Histogram;
  /** A single unlabelled value read at scrape time (process RSS, CPU seconds). */
  collected(name: string, help: string, type: "counter" | "gauge", read: () => number): void;
  /** The whole registry in Prometheus text format. */
  render(): string;
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function seriesKey(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join("\u0000");
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatLabels(labels: Labels, extra?: [string, string]): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${escapeLabel(labels[k])}"`);
  if (extra) parts.push(`${extra[0]}="${escapeLabel(extra[1])}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

function formatNumber(n: number): string {
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return Number.isNaN(n) ? "NaN" : String(n);
}

export function createMetricsRegistry(): MetricsRegistry {
  const renderers: Array<() => string> = [];
  const names = new Set<string>();

  function register(name: string, render: () => string): void {
    if (!NAME_RE.test(name)) throw new Error(`metric name ${JSON.stringify(name)} is not a valid Prometheus name`);
    if (names.has(name)) throw new Error(`metric ${name} is registered twice`);
    names.add(name);
    renderers.push(render);
  }

  function scalar(name: string, help: string, type: "counter" | "gauge", collect?: () => void) {
    const series = new Map<string, Series<number>>();
    const slot = (labels: Labels) => {
      const key = seriesKey(labels);
      let s = series.get(key);
      if (!s) series.set(key, (s = { labels: { ...labels }, value: 0 }));
      return s;
    };
    register(name, () => {
      collect?.();
      const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
      for (const s of series.values()) lines.push(`${name}${formatLabels(s.labels)} ${formatNumber(s.value)}`);
      return lines.join("\n");
    });
    return {
      add(labels: Labels, by: number) {
        slot(labels).value += by;
      },
      set(labels: Labels, value: number) {
        slot(labels).value = value;
      },
      get(labels: Labels) {
        return series.get(seriesKey(labels))?.value ?? 0;
      },
    };
  }

  return {
    counter(name, help) {
      const s = scalar(name, help, "counter");
      return {
        inc(labels = {}, by = 1) {
          if (by < 0) throw new Error(`counter ${name} cannot decrease (inc by ${by})`);
          s.add(labels, by);
        },
        get: (labels = {}) => s.get(labels),
      };
    },
    gauge(name, help, collect) {
      // The collect callback runs at scrape time, after `gauge` exists.
      const s = scalar(name, help, "gauge", () => collect?.(gauge));
      const gauge: Gauge = {
        set: (value, labels = {}) => s.set(labels, value),
        inc: (labels = {}, by = 1) => s.add(labels, by),
        dec: (labels = {}, by = 1) => s.add(labels, -by),
        get: (labels = {}) => s.get(labels),
      };
      return gauge;
    },
    histogram(name, help, buckets) {
      const bounds = [...buckets].sort((a, b) => a - b);
      const series = new Map<string, Series<HistogramValue>>();
      register(name, () => {
        const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
        for (const s of series.values()) {
          let cumulative = 0;
          bounds.forEach((le, i) => {
            cumulative += s.value.buckets[i];
            lines.push(`${name}_bucket${formatLabels(s.labels, ["le", formatNumber(le)])} ${cumulative}`);
          });
          lines.push(`${name}_bucket${formatLabels(s.labels, ["le", "+Inf"])} ${s.value.count}`);
          lines.push(`${name}_sum${formatLabels(s.labels)} ${formatNumber(s.value.sum)}`);
          lines.push(`${name}_count${formatLabels(s.labels)} ${s.value.count}`);
        }
        return lines.join("\n");
      });
      return {
        observe(value, labels = {}) {
          const key = seriesKey(labels);
          let s = series.get(key);
          if (!s) series.set(key, (s = { labels: { ...labels }, value: { buckets: bounds.map(() => 0), sum: 0, count: 0 } }));
          const i = bounds.findIndex((le) => value <= le);
          if (i >= 0) s.value.buckets[i]++;
          s.value.sum += value;
          s.value.count++;
        },
        get(labels = {}) {
          const s = series.get(seriesKey(labels));
          return { count: s?.value.count ?? 0, sum: s?.value.sum ?? 0 };
        },
      };
    },
    collected(name, help, type, read) {
      register(name, () => [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${formatNumber(read())}`].join("\n"));
    },
    render() {
      return renderers.map((r) => r()).join("\n") + "\n";
    },
  };
}
