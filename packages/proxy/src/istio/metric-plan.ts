// PluginConfig `metrics` overrides for a set of Istio's standard metrics:
// which are dropped and which labels each keeps (tags_to_remove), resolved
// once per filter config. What needs CEL (dimensions, custom definitions) and
// scope rotation is reported as not implemented and left out.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import { MAX_ISTIO_SERIES } from "./istio-series.js";

export interface MetricPlan {
  drop: boolean;
  /** Indices into the metric's label list, in order, of the labels it keeps. */
  kept: number[];
}

function field(json: JsonObject, snake: string, camel: string): JsonValue | undefined {
  return json[snake] ?? json[camel];
}

/** The tags a metric keeps: `labels[i]` with `values[i]` for each kept index, in order. */
export function keptTags(plan: MetricPlan, labels: readonly string[], values: readonly string[]): Array<readonly [string, string]> {
  return plan.kept.map((i) => [labels[i]!, values[i]!] as const);
}

/**
 * The plan of each of `metrics` (names without `istio_`, as PluginConfig names them) over `labels`.
 * As in Istio's stats filter: `drop` needs the metric's name (an unnamed one drops nothing), and
 * `tags_to_remove` applies to the named metric or, unnamed, to every metric.
 */
export function planIstioMetrics<N extends string>(
  json: JsonObject,
  metrics: readonly N[],
  labels: readonly string[],
  report: (field: string, detail?: string) => void,
  at: string,
): Record<N, MetricPlan> {
  const drop = new Set<string>();
  const removed = new Map<string, Set<string>>(metrics.map((m) => [m, new Set()]));
  const overrides = json["metrics"];
  if (Array.isArray(overrides)) {
    overrides.forEach((m, i) => {
      if (m === null || typeof m !== "object" || Array.isArray(m)) return;
      const name = typeof m["name"] === "string" ? m["name"] : "";
      if (m["drop"] === true) {
        if (name) drop.add(name);
        return;
      }
      const targets = name ? metrics.filter((n) => n === name) : metrics;
      const tags = field(m, "tags_to_remove", "tagsToRemove");
      if (Array.isArray(tags)) for (const t of tags) if (typeof t === "string") for (const target of targets) removed.get(target)!.add(t);
      const dims = m["dimensions"];
      if (dims && typeof dims === "object" && Object.keys(dims).length > 0) report(`${at}.metrics[${i}].dimensions`, "CEL dimension expressions are not implemented; the standard labels are kept");
    });
  }
  const defs = json["definitions"];
  if (Array.isArray(defs) && defs.length > 0) report(`${at}.definitions`, "custom metric definitions (CEL values) are not implemented; skipped");
  if (field(json, "rescoping_duration", "rescopingDuration") !== undefined) report(`${at}.rescoping_duration`, `not implemented; label sets are bounded at ${MAX_ISTIO_SERIES} instead`);
  const plans = {} as Record<N, MetricPlan>;
  for (const m of metrics) {
    const gone = removed.get(m)!;
    plans[m] = { drop: drop.has(m), kept: labels.flatMap((l, i) => (gone.has(l) ? [] : [i])) };
  }
  return plans;
}
