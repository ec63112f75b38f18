import type { ServerState } from "../stats/server-stats.js";

/** The server's lifecycle as /ready, /server_info and server.state report it. */
export interface ServerStateControl {
  state(): ServerState;
  setInitializing(): void;
  setLive(): void;
  setDraining(): void;
  /** /healthcheck/fail and /healthcheck/ok (Envoy's health_check filter answers 503 while failed). */
  healthCheckFailed(): boolean;
  setHealthCheckFailed(failed: boolean): void;
}

export function createServerState(): ServerStateControl {
  let lifecycle: "PRE_INITIALIZING" | "INITIALIZING" | "LIVE" = "PRE_INITIALIZING";
  let draining = false;
  let hcFailed = false;
  return {
    // Envoy's Utility::serverState: a failed health check or a drain reads as DRAINING.
    state: () => (draining || hcFailed ? "DRAINING" : lifecycle),
    setInitializing() {
      if (lifecycle === "PRE_INITIALIZING") lifecycle = "INITIALIZING";
    },
    setLive() {
      lifecycle = "LIVE";
    },
    setDraining() {
      draining = true;
    },
    healthCheckFailed: () => hcFailed,
    setHealthCheckFailed(failed) {
      hcFailed = failed;
    },
  };
}
