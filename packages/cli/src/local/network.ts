import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { LocalError } from "./errors.js";
import type { LocalPlan, LocalPod, LocalService } from "./plan.js";

/** Where `ip netns exec` finds per-namespace /etc files (it bind-mounts them over /etc). */
const NETNS_ETC = "/etc/netns";

function run(command: string, args: string[], what: string): string {
  try {
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new LocalError(`${what}: ${command} ${args.join(" ")} failed${stderr ? `: ${stderr}` : ""}`, "run `weftctl local down` to clean up, then try again as root");
  }
}

function tryRun(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Whether this machine can run the transparent mode: root, Linux, `ip` and `iptables`. */
export function transparentModeSupport(): { ok: true } | { ok: false; why: string } {
  if (process.platform !== "linux") return { ok: false, why: "network namespaces need Linux" };
  if (process.getuid?.() !== 0) return { ok: false, why: "network namespaces and iptables need root" };
  for (const tool of ["ip", "iptables", "iptables-restore"]) {
    if (!tryRun("sh", ["-c", `command -v ${tool}`])) return { ok: false, why: `${tool} is not installed (apt-get install iproute2 iptables)` };
  }
  return { ok: true };
}

function bridgeFilterEnabled(): boolean {
  const path = "/proc/sys/net/bridge/bridge-nf-call-iptables";
  return existsSync(path) && readFileSync(path, "utf8").trim() === "1";
}

const FORWARD_RULE = (bridge: string) => ["FORWARD", "-i", bridge, "-o", bridge, "-j", "ACCEPT", "-m", "comment", "--comment", "weft-local"];

/** The host side: a bridge every pod's veth joins; the host is .0.1 on it. */
export function createBridge(plan: LocalPlan): void {
  const { name, ip, prefix } = plan.bridge;
  if (!tryRun("ip", ["link", "show", name])) run("ip", ["link", "add", name, "type", "bridge"], "creating the bridge");
  if (!run("ip", ["-o", "addr", "show", "dev", name], "reading the bridge address").includes(` ${ip}/`)) run("ip", ["addr", "add", `${ip}/${prefix}`, "dev", name], "addressing the bridge");
  run("ip", ["link", "set", name, "up"], "bringing the bridge up");
  // Where bridged frames pass through iptables, a DROP forward policy (Docker's) would cut pods off.
  if (bridgeFilterEnabled() && !tryRun("iptables", ["-C", ...FORWARD_RULE(name)])) run("iptables", ["-I", ...FORWARD_RULE(name)], "allowing traffic across the bridge");
}

/** Lines of /etc/hosts for a pod: itself, and every service by the names Kubernetes DNS would answer. */
export function hostsFile(pod: Pick<LocalPod, "ip" | "name" | "namespace">, services: readonly LocalService[], domain = "cluster.local"): string {
  const lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback", `${pod.ip}\t${pod.name}`];
  for (const s of services) {
    if (s.vip === "None") continue;
    const names = [`${s.name}.${s.namespace}.svc.${domain}`, `${s.name}.${s.namespace}.svc`, `${s.name}.${s.namespace}`];
    // Short names resolve only inside the service's own namespace (the pod's DNS search path).
    if (s.namespace === pod.namespace) names.push(s.name);
    lines.push(`${s.vip}\t${names.join(" ")}`);
  }
  return lines.join("\n") + "\n";
}

export function createPodNetwork(plan: LocalPlan, pod: LocalPod): void {
  const ns = pod.netns;
  if (!tryRun("ip", ["netns", "pids", ns])) run("ip", ["netns", "add", ns], `creating the network namespace of ${pod.name}`);
  if (!tryRun("ip", ["link", "show", pod.hostVeth])) {
    run("ip", ["link", "add", pod.hostVeth, "type", "veth", "peer", "name", "eth0", "netns", ns], `creating the veth of ${pod.name}`);
  }
  run("ip", ["link", "set", pod.hostVeth, "master", plan.bridge.name, "up"], `attaching ${pod.name} to the bridge`);
  const inNs = (...args: string[]) => run("ip", ["netns", "exec", ns, ...args], `configuring ${pod.name}'s network`);
  inNs("ip", "link", "set", "lo", "up");
  if (!inNs("ip", "-o", "addr", "show", "dev", "eth0").includes(` ${pod.ip}/`)) inNs("ip", "addr", "add", `${pod.ip}/${plan.bridge.prefix}`, "dev", "eth0");
  inNs("ip", "link", "set", "eth0", "up");
  inNs("ip", "route", "replace", "default", "via", plan.bridge.ip);
  const etc = join(NETNS_ETC, ns);
  mkdirSync(etc, { recursive: true });
  writeFileSync(join(etc, "hosts"), hostsFile(pod, plan.services));
  // Names that are not services fail fast instead of leaking to the host's resolver.
  writeFileSync(join(etc, "resolv.conf"), "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n");
}

/** Removes everything `createBridge` and `createPodNetwork` made; safe to run twice. */
export function removeNetwork(plan: Pick<LocalPlan, "bridge" | "pods">): void {
  for (const pod of plan.pods) {
    tryRun("ip", ["netns", "delete", pod.netns]);
    tryRun("ip", ["link", "delete", pod.hostVeth]);
    rmSync(join(NETNS_ETC, pod.netns), { recursive: true, force: true });
  }
  while (tryRun("iptables", ["-D", ...FORWARD_RULE(plan.bridge.name)]));
  tryRun("ip", ["link", "delete", plan.bridge.name]);
}

/** Network namespaces named like ours that still exist (for `down` and tests). */
export function leftoverNamespaces(): string[] {
  const out = tryRun("ip", ["netns", "list"]) ? execFileSync("ip", ["netns", "list"], { encoding: "utf8" }) : "";
  return out.split("\n").map((l) => l.split(" ")[0]).filter((n) => n.startsWith("weft-"));
}
