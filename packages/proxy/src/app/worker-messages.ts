// The messages between the primary and its workers under --concurrency N
// (worker threads, or worker processes where threads can't share listeners;
// see worker-handles.ts). Kept free of runtime imports: the primary loads this
// and nothing of the data path.
import { isMainThread, workerData, type MessagePort } from "node:worker_threads";
import type { AdminReply } from "../admin/admin-server.js";
import type { StatsSnapshot } from "../stats/stats-snapshot.js";
import type { ResourceUpdate } from "../contracts.js";

export type AdminAddress = { host: string; port: number } | { path: string };

/** Worker → primary. */
export type WorkerMessage =
  | { weft: "ready"; admin: AdminAddress | null }
  | { weft: "admin-reply"; id: number; reply: AdminReply }
  | { weft: "stats-reply"; id: number; snapshot: StatsSnapshot }
  | { weft: "peer-stats"; id: number }
  /** Worker 0 applied (and ACKed) this xDS update: the other workers apply it too. */
  | { weft: "xds-update"; update: ResourceUpdate };

/** Primary → worker. */
export type PrimaryMessage =
  | { weft: "admin"; id: number; method: string; url: string }
  | { weft: "stats"; id: number }
  | { weft: "peer-stats-reply"; id: number; snapshots: StatsSnapshot[] }
  /** The primary got this signal: threads receive none of their own, so it is relayed. */
  | { weft: "signal"; signal: RelayedSignal }
  /** An update worker 0 took from the proxy's one xDS stream, in the order it applied them. */
  | { weft: "xds-update"; update: ResourceUpdate };

export type RelayedSignal = "SIGTERM" | "SIGINT";

/** How a worker runs: a thread of the primary's process, or a process of its own. */
export type WorkerKind = "thread" | "process";

export interface WorkerRole {
  /** 0-based, Envoy's worker_N. */
  index: number;
  kind: WorkerKind;
  /** A thread worker running on the primary's own thread (worker 0): its end of the channel to the primary. */
  port?: MessagePort;
  /** Thread workers: the process's local_ratelimit bucket table, the same memory in every worker. */
  rateLimitBuckets?: SharedArrayBuffer;
}

/** Set by the primary in a worker process's environment: the worker's index, 0-based (Envoy's worker_N). */
export const WORKER_INDEX_ENV = "WEFT_PROXY_WORKER_INDEX";

/** What a worker thread gets as workerData. */
export interface WorkerThreadData {
  weftWorkerIndex: number;
  weftRateLimitBuckets?: SharedArrayBuffer;
}

/** This thread's or process's role when the primary started it, else undefined (a single-process proxy, or the primary). */
export function workerRole(): WorkerRole | undefined {
  if (!isMainThread) {
    const data = workerData as Partial<WorkerThreadData> | undefined;
    const index = data?.weftWorkerIndex;
    return typeof index === "number" ? { index, kind: "thread", rateLimitBuckets: data?.weftRateLimitBuckets } : undefined;
  }
  const v = process.env[WORKER_INDEX_ENV];
  return v !== undefined && process.send ? { index: Number(v), kind: "process" } : undefined;
}

export function isWeftMessage(m: unknown): m is { weft: string } {
  return typeof m === "object" && m !== null && typeof (m as { weft?: unknown }).weft === "string";
}
