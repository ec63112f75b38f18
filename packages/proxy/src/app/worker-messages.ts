// The messages between the primary process and its workers under
// --concurrency N. Kept free of runtime imports: the primary loads this and
// nothing of the data path.
import type { AdminReply } from "../admin/admin-server.js";
import type { StatsSnapshot } from "../stats/stats-snapshot.js";

export type AdminAddress = { host: string; port: number } | { path: string };

/** Worker → primary. */
export type WorkerMessage =
  | { weft: "ready"; admin: AdminAddress | null }
  | { weft: "admin-reply"; id: number; reply: AdminReply }
  | { weft: "stats-reply"; id: number; snapshot: StatsSnapshot }
  | { weft: "peer-stats"; id: number };

/** Primary → worker. */
export type PrimaryMessage =
  | { weft: "admin"; id: number; method: string; url: string }
  | { weft: "stats"; id: number }
  | { weft: "peer-stats-reply"; id: number; snapshots: StatsSnapshot[] };

/** Set by the primary in each worker's environment: the worker's index, 0-based (Envoy's worker_N). */
export const WORKER_INDEX_ENV = "WEFT_PROXY_WORKER_INDEX";

/** This process's worker index when it was forked by the primary, else undefined. */
export function workerIndex(): number | undefined {
  const v = process.env[WORKER_INDEX_ENV];
  return v !== undefined && process.send ? Number(v) : undefined;
}

export function isWeftMessage(m: unknown): m is { weft: string } {
  return typeof m === "object" && m !== null && typeof (m as { weft?: unknown }).weft === "string";
}
