import { spawn } from "node:child_process";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import type { ProcessRole, RunningProcess } from "./state.js";

export interface StartOptions {
  role: ProcessRole;
  owner: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  log: string;
  cwd?: string;
  /** Run inside this network namespace (`ip netns exec`). */
  netns?: string;
  /** Run as this uid/gid (the sidecar runs as 1337 so capture lets its own traffic out). */
  uid?: number;
}

/**
 * Starts a long-running component detached from this terminal, its output in
 * a log file, so `weftctl local up -d` can return and `down` can stop it by
 * process group later.
 */
export function startDetached(options: StartOptions): RunningProcess {
  mkdirSync(dirname(options.log), { recursive: true });
  const fd = openSync(options.log, "a");
  let command = options.command;
  let args = options.args;
  if (options.uid !== undefined) {
    args = ["--reuid", String(options.uid), "--regid", String(options.uid), "--clear-groups", "--", command, ...args];
    command = "setpriv";
  }
  if (options.netns) {
    args = ["netns", "exec", options.netns, command, ...args];
    command = "ip";
  }
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ["ignore", fd, fd] });
  closeSync(fd);
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${options.command}`);
  const { role, owner, log, ...spec } = options;
  return { role, owner, pid: child.pid, log, spec };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * SIGTERM each process, wait up to `graceMs`, then SIGKILL each process group. Sidecars and
 * the gateway get SIGTERM on the agent alone, as kubelet signals only the container's main
 * process: the agent drains and stops its proxy itself (a group SIGTERM would kill the proxy
 * at once and there would be no drain). Apps and discovery get it on their whole group.
 */
export async function stopAll(processes: readonly RunningProcess[], graceMs = 5000): Promise<void> {
  const signal = (pid: number, sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  for (const p of processes) {
    if (p.role === "sidecar" || p.role === "gateway") {
      try {
        process.kill(p.pid, "SIGTERM");
      } catch {
        /* already gone */
      }
    } else signal(p.pid, "SIGTERM");
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && processes.some((p) => isAlive(p.pid))) await new Promise((r) => setTimeout(r, 100));
  for (const p of processes) {
    if (isAlive(p.pid)) signal(p.pid, "SIGKILL");
    else if (p.role === "sidecar" || p.role === "gateway") {
      // The agent is gone; its group may still hold a proxy it could not stop.
      try {
        process.kill(-p.pid, "SIGKILL");
      } catch {
        /* nothing left */
      }
    }
  }
}
