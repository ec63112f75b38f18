import type { Tag } from "./tag-extractor.js";
import { DEFAULT_HISTOGRAM_BUCKETS, type StatsStoreImpl } from "./stats-store.js";

export interface PrometheusOptions {
  /** Only stats whose full Envoy name matches (admin `?filter=`). */
  filter?: RegExp;
  /** Namespaces emitted without the `envoy_` prefix (Istio's `istio_requests_total`…). */
  customNamespaces?: readonly string[];
}

type Line = { labels: string; text: string };
interface Family {
  type: "counter" | "gauge" | "histogram";
  help: string;
  lines: Line[];
}

const INVALID = /[^a-zA-Z0-9_]/g;
const ISTIO_CUSTOM = "istiocustom.";

/** Envoy's PrometheusStatsFormatter::metricName: `envoy_` + name with every non [a-zA-Z0-9_] as `_`. */
export function prometheusMetricName(extractedName: string, customNamespaces: readonly string[] = ["istio"]): string {
  // Istio's stats filter registers `istiocustom` as a custom stat namespace: Envoy strips it.
  if (extractedName.startsWith(ISTIO_CUSTOM)) return extractedName.slice(ISTIO_CUSTOM.length).replace(INVALID, "_");
  const sanitized = extractedName.replace(INVALID, "_");
  for (const ns of customNamespaces) {
    if (extractedName.startsWith(ns + ".") || extractedName.startsWith(ns + "_")) return sanitized;
  }
  return "envoy_" + sanitized;
}

function labelName(tag: string): string {
  const s = tag.replace(INVALID, "_");
  return /^[0-9]/.test(s) ? "_" + s : s;
}

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function formatLabels(tags: readonly Tag[], extra?: string): string {
  const seen = new Set<string>();
  const parts: string[] = [];
  for (const [k, v] of tags) {
    const name = labelName(k);
    if (seen.has(name)) continue; // a label may appear once per sample
    seen.add(name);
    parts.push(`${name}="${escapeLabelValue(v)}"`);
  }
  if (extra) parts.push(extra);
  return `{${parts.join(",")}}`;
}

function formatNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

/**
 * Renders the store in the Prometheus text exposition format as Envoy's
 * /stats/prometheus does: one `# TYPE` per metric family, tag-extracted names,
 * tags as labels, histograms with Envoy's default buckets, `_sum` and `_count`.
 * A `# HELP` line is added per family (Envoy omits it; promtool lints for it).
 */
export function renderPrometheus(store: StatsStoreImpl, options: PrometheusOptions = {}): string {
  store.refresh();
  const families = new Map<string, Family>();
  const ns = options.customNamespaces ?? ["istio"];
  const family = (name: string, type: Family["type"], envoyName: string): Family | undefined => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { type, help: envoyName, lines: [] }));
    // Same sanitized name with another type: Prometheus can't hold both; keep the first.
    return f.type === type ? f : undefined;
  };
  const keep = (name: string) => !options.filter || options.filter.test(name);

  for (const c of store.counters()) {
    if (!keep(c.name)) continue;
    const metric = prometheusMetricName(c.tagged.name, ns);
    const labels = formatLabels(c.tagged.tags);
    family(metric, "counter", c.tagged.name)?.lines.push({ labels, text: `${metric}${labels} ${formatNumber(c.current)}` });
  }
  for (const g of store.gauges()) {
    if (!keep(g.name)) continue;
    const metric = prometheusMetricName(g.tagged.name, ns);
    const labels = formatLabels(g.tagged.tags);
    family(metric, "gauge", g.tagged.name)?.lines.push({ labels, text: `${metric}${labels} ${formatNumber(g.current)}` });
  }
  for (const h of store.histograms()) {
    if (!keep(h.name)) continue;
    const metric = prometheusMetricName(h.tagged.name, ns);
    const f = family(metric, "histogram", h.tagged.name);
    if (!f) continue;
    const base = formatLabels(h.tagged.tags);
    const out: string[] = [];
    let cumulative = 0;
    DEFAULT_HISTOGRAM_BUCKETS.forEach((bound, i) => {
      cumulative += h.buckets[i]!;
      out.push(`${metric}_bucket${formatLabels(h.tagged.tags, `le="${bound}"`)} ${cumulative}`);
    });
    out.push(`${metric}_bucket${formatLabels(h.tagged.tags, 'le="+Inf"')} ${h.count}`);
    out.push(`${metric}_sum${base} ${formatNumber(h.sum)}`);
    out.push(`${metric}_count${base} ${h.count}`);
    f.lines.push({ labels: base, text: out.join("\n") });
  }

  const names = [...families.keys()].sort();
  let text = "";
  for (const name of names) {
    const f = families.get(name)!;
    f.lines.sort((a, b) => (a.labels < b.labels ? -1 : a.labels > b.labels ? 1 : 0));
    text += `# HELP ${name} Envoy stat ${f.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}\n# TYPE ${name} ${f.type}\n`;
    for (const line of f.lines) text += line.text + "\n";
  }
  return text;
}
