// A throwaway network for sidecar tests that need several pods: a hub namespace with a
// bridge (where discovery runs), and one namespace per pod with a veth on that bridge,
// its own IP and a default route through the hub. Root only; everything is removed by
// close(), processes included (by their pids, SIGTERM then SIGKILL).
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { exited } from "./agent-harness.js";

export function netnsSkipReason(files: string[], tools = ["ip", "iptables-restore", "setpriv", "curl"]): string | undefined {
  if (process.getuid?.() !== 0) return "not root: network namespaces and iptables need root";
  for (const f of files) if (!existsSync(f)) return `${f} is not built/installed`;
  for (const tool of tools) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`]);
    } catch {
      return `${tool} is not installed`;
    }
  }
  return undefined;
}

export interface NetnsPod {
  ns: string;
  ip: string;
}

export interface NetnsMesh {
  hub: NetnsPod;
  addPod(name: string): NetnsPod;
  /** Runs a command in a namespace and returns its stdout. */
  exec(ns: string, args: string[], timeoutMs?: number): string;
  /** Starts a long-running process in a namespace; close() stops it. */
  spawn(ns: string, args: string[], options?: SpawnOptions): ChildProcess;
  close(): Promise<void>;
}

export function createNetnsMesh(prefix: string): NetnsMesh {
  const id = randomBytes(3).toString("hex");
  const subnet = `10.253.${100 + (parseInt(id.slice(0, 2), 16) % 150)}`;
  const namespaces: string[] = [];
  const children: ChildProcess[] = [];
  const sh = (args: string[]) => execFileSync("ip", args, { encoding: "utf8", timeout: 20_000 });
  const addNs = (name: string) => {
    sh(["netns", "add", name]);
    namespaces.push(name);
    sh(["-n", name, "link", "set", "lo", "up"]);
  };

  const hub: NetnsPod = { ns: `${prefix}-${id}-hub`, ip: `${subnet}.1` };
  addNs(hub.ns);
  sh(["-n", hub.ns, "link", "add", "br0", "type", "bridge"]);
  sh(["-n", hub.ns, "addr", "add", `${hub.ip}/24`, "dev", "br0"]);
  sh(["-n", hub.ns, "link", "set", "br0", "up"]);
  let next = 2;

  return {
    hub,
    addPod(name) {
      const pod: NetnsPod = { ns: `${prefix}-${id}-${name}`, ip: `${subnet}.${next}` };
      const n = next++;
      addNs(pod.ns);
      // Created in the pod's namespace, the peer moved to the hub: no names in the root namespace.
      sh(["-n", pod.ns, "link", "add", "eth0", "type", "veth", "peer", "name", `v${n}`]);
      sh(["-n", pod.ns, "link", "set", `v${n}`, "netns", hub.ns]);
      sh(["-n", hub.ns, "link", "set", `v${n}`, "master", "br0", "up"]);
      sh(["-n", pod.ns, "addr", "add", `${pod.ip}/24`, "dev", "eth0"]);
      sh(["-n", pod.ns, "link", "set", "eth0", "up"]);
      sh(["-n", pod.ns, "route", "add", "default", "via", hub.ip]);
      return pod;
    },
    exec(ns, args, timeoutMs = 20_000) {
      return execFileSync("ip", ["netns", "exec", ns, ...args], { encoding: "utf8", timeout: timeoutMs });
    },
    spawn(ns, args, options = {}) {
      const child = spawn("ip", ["netns", "exec", ns, ...args], { stdio: "ignore", ...options });
      children.push(child);
      return child;
    },
    async close() {
      const running = children.filter((c) => c.exitCode === null && c.signalCode === null);
      for (const c of running) c.kill("SIGTERM");
      await Promise.race([Promise.all(running.map((c) => exited(c))), new Promise((r) => setTimeout(r, 5000))]);
      for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
      // Whatever still runs in our namespaces (a proxy whose agent was killed before it could
      // stop it) goes too, by pid, before the namespaces are deleted.
      const inNamespaces = () =>
        namespaces.flatMap((ns) => {
          try {
            return sh(["netns", "pids", ns]).split("\n").filter(Boolean).map(Number);
          } catch {
            return [];
          }
        });
      for (const [sig, wait] of [["SIGTERM", 2000], ["SIGKILL", 500]] as const) {
        const pids = inNamespaces();
        for (const pid of pids) {
          try {
            process.kill(pid, sig);
          } catch {
            /* gone */
          }
        }
        if (pids.length > 0) await new Promise((r) => setTimeout(r, wait));
      }
      for (const ns of namespaces.reverse()) {
        try {
          sh(["netns", "del", ns]);
        } catch {
          /* already gone */
        }
      }
    },
  };
}
