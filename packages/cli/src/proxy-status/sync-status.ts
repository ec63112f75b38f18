/** One proxy's row of discovery's /debug/syncz (Istio's SyncStatus fields). */
export interface SynczRow {
  proxy: string;
  cluster_id?: string;
  proxy_version?: string;
  istio_version?: string;
  [field: string]: unknown;
}

export const PROXY_STATUS_HEADER = ["NAME", "CLUSTER", "CDS", "LDS", "EDS", "RDS", "ISTIOD", "VERSION"];

/** Istio's wording: SYNCED when the last push is acked, STALE when not, NOT SENT when nothing was pushed. */
export function syncState(sent: unknown, acked: unknown): string {
  if (typeof sent !== "string" || sent === "") return "NOT SENT";
  if (sent === acked) return "SYNCED";
  if (!acked) return "STALE (Never Acknowledged)";
  return "STALE";
}

/** `productpage-v1-0.default` from `sidecar~10.1.0.5~productpage-v1-0.default~default.svc.cluster.local`. */
export function proxyName(id: string): string {
  const parts = id.split("~");
  return parts.length === 4 ? parts[2] : id;
}

export function proxyStatusRows(rows: readonly SynczRow[], discoveryName: string): string[][] {
  return [...rows]
    .sort((a, b) => proxyName(a.proxy).localeCompare(proxyName(b.proxy)))
    .map((r) => [
      proxyName(r.proxy),
      r.cluster_id ?? "Kubernetes",
      syncState(r.cluster_sent, r.cluster_acked),
      syncState(r.listener_sent, r.listener_acked),
      syncState(r.endpoint_sent, r.endpoint_acked),
      syncState(r.route_sent, r.route_acked),
      discoveryName,
      r.proxy_version || r.istio_version || "",
    ]);
}
