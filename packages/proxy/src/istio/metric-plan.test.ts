import { describe, expect, it } from "vitest";
import { planIstioMetrics } from "./metric-plan.js";
import { TCP_LABELS } from "./request-labels.js";

const TCP = ["tcp_connections_opened_total", "tcp_connections_closed_total", "tcp_sent_bytes_total", "tcp_received_bytes_total"] as const;
const ALL = TCP_LABELS.map((_, i) => i);

function plan(json: Record<string, unknown>) {
  const reports: string[] = [];
  const p = planIstioMetrics(json as never, TCP, TCP_LABELS, (f) => void reports.push(f), "f");
  return { p, reports };
}

describe("planIstioMetrics()", () => {
  it("keeps every metric and label without overrides", () => {
    const { p, reports } = plan({});
    for (const m of TCP) expect(p[m]).toEqual({ drop: false, kept: ALL });
    expect(reports).toEqual([]);
  });

  it("drops a metric by its name only (an unnamed drop selects nothing, as in Istio)", () => {
    expect(plan({ metrics: [{ name: "tcp_sent_bytes_total", drop: true }] }).p.tcp_sent_bytes_total.drop).toBe(true);
    expect(plan({ metrics: [{ name: "tcp_sent_bytes_total", drop: true }] }).p.tcp_received_bytes_total.drop).toBe(false);
    expect(Object.values(plan({ metrics: [{ drop: true }] }).p).map((m) => m.drop)).toEqual([false, false, false, false]);
  });

  it("removes tags from the named metric, or from all of them when unnamed", () => {
    const { p } = plan({ metrics: [{ name: "tcp_connections_opened_total", tags_to_remove: ["reporter"] }, { tagsToRemove: ["connection_security_policy"] }] });
    expect(p.tcp_connections_opened_total.kept.map((i) => TCP_LABELS[i])).toEqual(TCP_LABELS.slice(1, -1));
    expect(p.tcp_connections_closed_total.kept.map((i) => TCP_LABELS[i])).toEqual(TCP_LABELS.slice(0, -1));
  });

  it("reports what needs CEL or scope rotation", () => {
    const { reports } = plan({ metrics: [{ dimensions: { x: "upstream.port" } }], definitions: [{ name: "x", value: "1" }], rescoping_duration: "60s" });
    expect(reports).toEqual(["f.metrics[0].dimensions", "f.definitions", "f.rescoping_duration"]);
  });
});
