// A worker's side of the messages with its primary under --concurrency N.
// Envoy runs N worker threads in one process with one admin server and one
// stats store; here each worker (a thread, or a process) has its own runtime,
// so the primary owns the admin port and relays: reads go to the first worker,
// state changes to every worker, and /stats is rendered by the first worker
// from the sum of all workers' stores (it asks the primary for the others').
// Like Envoy, the proxy keeps one xDS stream: worker 0's. Every update worker 0
// applies is passed on, in order, to the other workers, which apply it to
// their own runtimes (see run-primary.ts).
import { parentPort, type MessagePort } from "node:worker_threads";
import type { Logger } from "pino";
import type { AdminEndpoint } from "../admin/admin-server.js";
import { dispatchAdminRequest } from "../admin/admin-server.js";
import { mergeStatsSnapshots, snapshotStats, type StatsSnapshot } from "../stats/stats-snapshot.js";
import type { StatsStoreImpl } from "../stats/stats-store.js";
import type { ResourceUpdate } from "../contracts.js";
import { isWeftMessage, type AdminAddress, type PrimaryMessage, type RelayedSignal, type WorkerMessage, type WorkerRole } from "./worker-messages.js";

export interface WorkerChannel {
  /** The store the admin API renders: this worker's plus every peer's (merged). */
  statsForAdmin(): Promise<StatsStoreImpl>;
  /** Tell the primary the worker is up, and where the admin API should listen. */
  ready(admin: AdminAddress | null): void;
  /** Starts answering the primary's admin requests. */
  serveAdmin(endpoints: Map<string, AdminEndpoint>): void;
  /** The primary went away (killed): a worker must not outlive it. */
  onPrimaryGone(cb: () => void): void;
  /** A signal the primary relays (a worker thread receives none itself). */
  onSignal(cb: (signal: RelayedSignal) => void): void;
  /** Worker 0: hands an update it applied to the other workers. */
  publishUpdate(update: ResourceUpdate): void;
  /**
   * The other workers: applies worker 0's updates one at a time, in order (those that
   * arrived before this call first). A failure is logged; the worker keeps its last config.
   */
  applyUpdatesWith(apply: (update: ResourceUpdate) => Promise<void>): void;
  close(): void;
}

/** How messages travel: the IPC channel of a forked process, or a thread worker's port (parentPort, or a MessageChannel on the primary's thread). */
interface Transport {
  send(m: WorkerMessage): void;
  listen(onMessage: (m: unknown) => void, onGone: () => void): () => void;
}

/** What process (IPC) and a MessagePort both are: 'message' events and an event for the other end going away. */
interface MessageSource {
  on(event: string, listener: (value: unknown) => void): unknown;
  once(event: string, listener: () => void): unknown;
  off(event: string, listener: (value: unknown) => void): unknown;
}

/** Messages from `source` ('message' events) until `goneEvent` says the primary's end is gone. */
function transportOver(source: MessageSource, send: (m: WorkerMessage) => void, goneEvent: string): Transport {
  return {
    send,
    listen(onMessage, onGone) {
      source.on("message", onMessage);
      source.once(goneEvent, onGone);
      return () => {
        source.off("message", onMessage);
        source.off(goneEvent, onGone);
      };
    },
  };
}

function processTransport(): Transport {
  const send = (m: WorkerMessage): void => {
    if (process.connected) process.send!(m);
  };
  return transportOver(process, send, "disconnect");
}

function threadTransport(port: MessagePort | null): Transport {
  if (!port) throw new Error("a worker thread's channel needs worker_threads.parentPort");
  return transportOver(port, (m) => port.postMessage(m), "close");
}

export function createWorkerChannel(stats: StatsStoreImpl, logger: Logger, role: WorkerRole): WorkerChannel {
  const transport = role.kind === "thread" ? threadTransport(role.port ?? parentPort) : processTransport();
  const send = transport.send;
  let endpoints: Map<string, AdminEndpoint> | undefined;
  let nextId = 1;
  const waiting = new Map<number, (s: StatsSnapshot[]) => void>();
  let signalled: ((signal: RelayedSignal) => void) | undefined;
  const updates = createUpdateQueue(logger, role.index);
  const onMessage = (m: unknown): void => {
    if (!isWeftMessage(m)) return;
    const msg = m as PrimaryMessage;
    switch (msg.weft) {
      case "signal":
        signalled?.(msg.signal);
        return;
      case "xds-update":
        updates.push(msg.update);
        return;
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
  let gone: (() => void) | undefined;
  const stopListening = transport.listen(onMessage, () => gone?.());
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
    onSignal(cb) {
      signalled = cb;
    },
    publishUpdate(update) {
      send({ weft: "xds-update", update });
    },
    applyUpdatesWith(apply) {
      updates.start(apply);
    },
    close() {
      stopListening();
    },
  };
}

/** Updates from worker 0, held until the runtime can take them, then applied one at a time in arrival order. */
function createUpdateQueue(logger: Logger, index: number): { push(u: ResourceUpdate): void; start(apply: (u: ResourceUpdate) => Promise<void>): void } {
  const early: ResourceUpdate[] = [];
  let applyFn: ((u: ResourceUpdate) => Promise<void>) | undefined;
  let tail: Promise<void> = Promise.resolve();
  const run = (u: ResourceUpdate): void => {
    const apply = applyFn!;
    tail = tail.then(() =>
      apply(u).catch((err: unknown) =>
        // Same input, same code as worker 0, which accepted it: only a bug or a resource limit gets here.
        logger.error({ err, worker: index, typeUrl: u.typeUrl, version: u.version }, "an xDS update worker 0 accepted failed to apply here; this worker keeps its previous config"),
      ),
    );
  };
  return {
    push(u) {
      if (applyFn) run(u);
      else early.push(u);
    },
    start(apply) {
      applyFn = apply;
      for (const u of early.splice(0)) run(u);
    },
  };
}
