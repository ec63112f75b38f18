import { spawn, type ChildProcess } from "node:child_process";
import type { Logger } from "pino";
import { createBackoff, type Backoff } from "../xds-proxy/backoff.js";
import type { ProxyCommand } from "./resolve-proxy-binary.js";

export interface SupervisorOptions {
  proxy: ProxyCommand;
  args: string[];
  log: Logger;
  backoff?: Backoff;
  /** A run this long counts as healthy and resets the backoff. */
  healthyRunMs?: number;
  stdio?: "inherit" | "ignore";
  /** Called before every (re)start, e.g. to forget that the previous process was configured. */
  onStart?: () => void;
}

export interface Supervisor {
  start(): void;
  /**
   * No more restarts: the sidecar is shutting down, so a proxy exit from now on is final
   * (e.g. the proxy got the same SIGTERM as the agent from a process-group kill).
   */
  hold(): void;
  /** Sends a signal to the running proxy (SIGHUP, SIGUSR1… are passed through). */
  signal(sig: NodeJS.Signals): void;
  /** Stops supervising: `askToExit` (if given), then SIGTERM, then SIGKILL after `graceMs`. Resolves when the proxy is gone. */
  stop(graceMs: number, askToExit?: () => Promise<void>): Promise<void>;
  readonly pid: number | undefined;
  readonly restarts: number;
}

/** Runs the proxy as a child process and restarts it with exponential backoff when it dies. */
export function createSupervisor(o: SupervisorOptions): Supervisor {
  const backoff = o.backoff ?? createBackoff(500, 30_000);
  const healthyRunMs = o.healthyRunMs ?? 30_000;
  let child: ChildProcess | undefined;
  let stopping = false;
  let restarts = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  let exited: Promise<void> = Promise.resolve();

  const launch = () => {
    if (stopping) return;
    o.onStart?.();
    const startedAt = Date.now();
    const c = spawn(o.proxy.command, [...o.proxy.prefixArgs, ...o.args], { stdio: ["ignore", o.stdio ?? "inherit", o.stdio ?? "inherit"] });
    child = c;
    o.log.info({ pid: c.pid, command: o.proxy.description, args: o.args }, "proxy started");
    exited = new Promise((resolve) => {
      let gone = false;
      const onGone = (code: number | null, sig: NodeJS.Signals | null) => {
        if (gone) return;
        gone = true;
        if (child === c) child = undefined;
        resolve();
        if (stopping) {
          o.log.info({ code, signal: sig }, "proxy stopped");
          return;
        }
        if (Date.now() - startedAt >= healthyRunMs) backoff.reset();
        const delay = backoff.next();
        restarts++;
        o.log.error({ code, signal: sig, restartInMs: delay, restarts }, "proxy exited unexpectedly; restarting");
        restartTimer = setTimeout(launch, delay);
      };
      c.on("exit", onGone);
      c.on("error", (err) => {
        o.log.error({ err: err.message, command: o.proxy.description }, "cannot start proxy");
        if (c.pid === undefined) onGone(null, null); // spawn failed: no exit event will follow
      });
    });
  };

  return {
    start: launch,
    hold() {
      stopping = true;
      clearTimeout(restartTimer);
    },
    signal(sig) {
      child?.kill(sig);
    },
    async stop(graceMs, askToExit) {
      stopping = true;
      clearTimeout(restartTimer);
      const c = child;
      if (!c) return;
      if (askToExit) {
        // e.g. admin /quitquitquit: marked as stopping first, so the exit is not taken for a crash.
        await askToExit().catch(() => undefined);
        const gone = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 1000))]);
        if (gone) return;
      }
      c.kill("SIGTERM");
      const killer = setTimeout(() => c.kill("SIGKILL"), graceMs);
      await exited;
      clearTimeout(killer);
    },
    get pid() {
      return child?.pid;
    },
    get restarts() {
      return restarts;
    },
  };
}
