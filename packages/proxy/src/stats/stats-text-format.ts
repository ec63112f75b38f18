import type { HistogramEntry, StatsStoreImpl } from "./stats-store.js";

export interface StatsQuery {
  filter?: RegExp;
  usedOnly?: boolean;
}

const QUANTILES = [0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 1];

function quantileLabel(q: number): string {
  return "P" + String(q * 100);
}

function histogramText(h: HistogramEntry): string {
  if (h.count === 0) return "No recorded values";
  // Envoy prints (interval,cumulative) pairs; we keep no interval window, so interval is nan.
  return QUANTILES.map((q) => `${quantileLabel(q)}(nan,${h.quantile(q)})`).join(" ");
}

/** Envoy's /stats text: `name: value`, counters and gauges sorted by name, then histograms. */
export function renderStatsText(store: StatsStoreImpl, query: StatsQuery = {}): string {
  store.refresh();
  const keep = (name: string, used: boolean) => (!query.filter || query.filter.test(name)) && (!query.usedOnly || used);
  const scalars: Array<[string, number]> = [];
  for (const c of store.counters()) if (keep(c.name, c.current !== 0)) scalars.push([c.name, c.current]);
  for (const g of store.gauges()) if (keep(g.name, g.current !== 0)) scalars.push([g.name, g.current]);
  scalars.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const hist = [...store.histograms()].filter((h) => keep(h.name, h.count > 0)).sort((a, b) => (a.name < b.name ? -1 : 1));
  let out = "";
  for (const [name, value] of scalars) out += `${name}: ${value}\n`;
  for (const h of hist) out += `${h.name}: ${histogramText(h)}\n`;
  return out;
}

/** Envoy's /stats?format=json shape. */
export function renderStatsJson(store: StatsStoreImpl, query: StatsQuery = {}): unknown {
  store.refresh();
  const keep = (name: string, used: boolean) => (!query.filter || query.filter.test(name)) && (!query.usedOnly || used);
  const stats: unknown[] = [];
  const scalars: Array<{ name: string; value: number }> = [];
  for (const c of store.counters()) if (keep(c.name, c.current !== 0)) scalars.push({ name: c.name, value: c.current });
  for (const g of store.gauges()) if (keep(g.name, g.current !== 0)) scalars.push({ name: g.name, value: g.current });
  scalars.sort((a, b) => (a.name < b.name ? -1 : 1));
  stats.push(...scalars);
  const hist = [...store.histograms()].filter((h) => keep(h.name, h.count > 0)).sort((a, b) => (a.name < b.name ? -1 : 1));
  stats.push({
    histograms: {
      supported_quantiles: QUANTILES.map((q) => q * 100),
      computed_quantiles: hist.map((h) => ({
        name: h.name,
        values: QUANTILES.map((q) => {
          const v = h.quantile(q);
          return { interval: null, cumulative: Number.isNaN(v) ? null : v };
        }),
      })),
    },
  });
  return { stats };
}
