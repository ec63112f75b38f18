// HTTP/1.1 admission for one cluster and priority. An HTTP/1.1 request holds
// a whole connection, so at most max_connections run at once across the
// cluster's hosts; the next ones wait as pending requests (upstream_cx_overflow
// counts each time the connection limit made one wait) and past
// max_pending_requests they fail with UO (upstream_rq_pending_overflow).
//
// The waiter is the caller's own object (the router's attempt): the gate keeps
// its bookkeeping in `gateState` rather than allocating a ticket and two
// closures for every request.
import type { Counter, Gauge } from "../contracts.js";
import type { ResourceManager } from "./resource-manager.js";

/** Not in the gate, waiting for a slot, holding one, or done with the gate. */
export type GateState = "none" | "waiting" | "holding" | "left";

export interface GateWaiter {
  gateState: GateState;
  /** A slot is this waiter's now: call `leave(this)` when done with the connection. */
  gateOpened(): void;
  /** The pending queue is full (called from within admit). */
  gateOverflowed(): void;
}

export interface PendingGate {
  /** Opens the gate for `w` now or once a slot frees up, or reports the overflow. */
  admit(w: GateWaiter): void;
  /** `w` is done: its slot goes to the next waiter, or it stops waiting. Idempotent. */
  leave(w: GateWaiter): void;
  readonly inFlight: number;
  readonly waiting: number;
}

export function createPendingGate(rm: ResourceManager, stats: { cxOverflow: Counter; rqPendingOverflow: Counter; rqPendingTotal: Counter; rqPendingActive: Gauge }): PendingGate {
  let inFlight = 0;
  const queue: GateWaiter[] = [];

  const open = (w: GateWaiter): void => {
    inFlight++;
    w.gateState = "holding";
    w.gateOpened();
  };

  return {
    get inFlight() {
      return inFlight;
    },
    get waiting() {
      return queue.length;
    },
    admit(w) {
      if (inFlight < rm.config.maxConnections && queue.length === 0) return open(w);
      if (!rm.pendingRequests.canCreate()) {
        stats.rqPendingOverflow.inc();
        w.gateState = "left";
        w.gateOverflowed();
        return;
      }
      stats.cxOverflow.inc();
      stats.rqPendingTotal.inc();
      stats.rqPendingActive.inc();
      rm.pendingRequests.inc();
      w.gateState = "waiting";
      queue.push(w);
    },
    leave(w) {
      const state = w.gateState;
      w.gateState = "left";
      if (state === "waiting") {
        const i = queue.indexOf(w);
        if (i >= 0) {
          queue.splice(i, 1);
          rm.pendingRequests.dec();
          stats.rqPendingActive.dec();
        }
        return;
      }
      if (state !== "holding") return;
      inFlight--;
      const next = queue.shift();
      if (next) {
        rm.pendingRequests.dec();
        stats.rqPendingActive.dec();
        open(next);
      }
    },
  };
}
