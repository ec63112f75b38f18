// HTTP/1.1 admission for one cluster and priority. An HTTP/1.1 request holds
// a whole connection, so at most max_connections run at once across the
// cluster's hosts; the next ones wait as pending requests (upstream_cx_overflow
// counts each time the connection limit made one wait) and past
// max_pending_requests they fail with UO (upstream_rq_pending_overflow).
import type { Counter, Gauge } from "../contracts.js";
import type { ResourceManager } from "./resource-manager.js";

export interface PendingGate {
  /**
   * Runs `start` now or once a connection slot frees up; `start` receives the
   * release function to call when the request is done with its connection.
   * Calls `overflow` instead when the pending queue is full. Returns a cancel
   * for a request still waiting (downstream gone, timeout).
   */
  admit(start: (release: () => void) => void, overflow: () => void): () => void;
  readonly inFlight: number;
  readonly waiting: number;
}

interface Waiter {
  start: (release: () => void) => void;
  cancelled: boolean;
}

export function createPendingGate(rm: ResourceManager, stats: { cxOverflow: Counter; rqPendingOverflow: Counter; rqPendingTotal: Counter; rqPendingActive: Gauge }): PendingGate {
  let inFlight = 0;
  const queue: Waiter[] = [];

  const release = (): void => {
    inFlight--;
    while (queue.length > 0) {
      const w = queue.shift()!;
      if (w.cancelled) continue;
      rm.pendingRequests.dec();
      stats.rqPendingActive.dec();
      run(w.start);
      return;
    }
  };
  const run = (start: (release: () => void) => void): void => {
    inFlight++;
    let released = false;
    start(() => {
      if (released) return;
      released = true;
      release();
    });
  };

  return {
    get inFlight() {
      return inFlight;
    },
    get waiting() {
      return queue.length;
    },
    admit(start, overflow) {
      if (inFlight < rm.config.maxConnections && queue.length === 0) {
        run(start);
        return noop;
      }
      if (!rm.pendingRequests.canCreate()) {
        stats.rqPendingOverflow.inc();
        overflow();
        return noop;
      }
      stats.cxOverflow.inc();
      stats.rqPendingTotal.inc();
      stats.rqPendingActive.inc();
      rm.pendingRequests.inc();
      const w: Waiter = { start, cancelled: false };
      queue.push(w);
      return () => {
        if (w.cancelled) return;
        w.cancelled = true;
        const i = queue.indexOf(w);
        if (i >= 0) {
          queue.splice(i, 1);
          rm.pendingRequests.dec();
          stats.rqPendingActive.dec();
        }
      };
    },
  };
}

function noop(): void {}
