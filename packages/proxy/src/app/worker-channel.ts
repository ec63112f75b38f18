// The IPC between the primary process and its workers under --concurrency N.
// Envoy runs N worker threads in one process with one admin server and one
// stats store; here each worker is a process with its own runtime, so the
// primary owns the admin port and relays: reads go to the first worker,
// state changes to every worker, and /stats is rendered by the first worker
// from the sum of all workers' stores (it asks the primary for the others').
import type { Logger } from "pino";
import type { AdminEndpoint } from "../admin/admin-server.js";
import { dispatchAdminRequest } from "../admin/admin-server.js";
import { mergeStatsSnapshots, snapshotStats, type StatsSnapshot } from "../stats/stats-snapshot.js";
import type { StatsStoreImpl } from "../stats/stats-store.js";
import { isWeftMessage, type AdminAddress, type PrimaryMessage, type WorkerMessage } from "./worker-messages.js";

export interface WorkerChannel {
  /** The store the admin API renders: this worker's plus every peer's (merged). */
  statsForAdmin(): Promise<StatsStoreImpl>;
  /** Tell the primary the worker is up, and where the admin API should listen. */
  ready(admin: AdminAddress | null): void;
  /** Starts answering the primary's admin requests. */
  serveAdmin(endpoints: Map<string, AdminEndpoint>): void;
  /** The primary went away (killed): a worker must not outlive it. */
  onPrimaryGone(cb: () => void): void;
  close(): void;
}

export function createWorkerChannel(stats: StatsStoreImpl, logger: Logger): WorkerChannel {
  const send = (m: WorkerMessage): void => {
    if (process.connected) process.send!(m);
  };
  let endpoints: Map<string, AdminEndpoint> | undefined;
  let nextId = 1;
  const waiting = new Map<number, (s: StatsSnapshot[]) => void>();
  const onMessage = (m: unknown): void => {
    if (!isWeftMessage(m)) return;
    const msg = m as PrimaryMessage;
    switch (msg.weft) {
      case "stats":
        send({ weft: "stats-reply", id: msg.id, snapshot: snapshotStats(stats) });
        return;
      case "peer-stats-reply":
        waiting.get(msg.id)?.(msg.snapshots);
        waiting.delete(msg.id);
        return;
      case "admin": {
        const eps = endpoints;
        if (!eps) {
          send({ weft: "admin-reply", id: msg.id, reply: { status: 503, body: "admin not ready\n" } });
          return;
        }
        void dispatchAdminRequest(eps, msg.method, msg.url, logger).then((reply) => send({ weft: "admin-reply", id: msg.id, reply }));
        return;
      }
    }
  };
  process.on("message", onMessage);
  let gone: (() => void) | undefined;
  const onDisconnect = (): void => gone?.();
  process.once("disconnect", onDisconnect);
  return {
    async statsForAdmin() {
      const id = nextId++;
      const peers = await new Promise<StatsSnapshot[]>((resolve) => {
        waiting.set(id, resolve);
        send({ weft: "peer-stats", id });
        // A primary that can't answer (shutting down) must not hang the admin request.
        setTimeout(() => {
          if (waiting.delete(id)) resolve([]);
        }, 2000).unref();
      });
      return mergeStatsSnapshots([snapshotStats(stats), ...peers], stats.tagProducer);
    },
    ready(admin) {
      send({ weft: "ready", admin });
    },
    serveAdmin(eps) {
      endpoints = eps;
    },
    onPrimaryGone(cb) {
      gone = cb;
    },
    close() {
      process.off("message", onMessage);
      process.off("disconnect", onDisconnect);
    },
  };
}
