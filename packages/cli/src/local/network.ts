import { execFile, execFileSync, spawn } from "node:child_process";
import { promisify } from "node:util";
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

const execFileAsync = promisify(execFile);

async function runAsync(command: string, args: string[], what: string): Promise<string> {
  try {
    return (await execFileAsync(command, args, { encoding: "utf8" })).stdout;
  } catch (error) {
    const stderr = String((error as { stderr?: string }).stderr ?? "").trim();
    throw new LocalError(`${what}: ${command} ${args.join(" ")} failed${stderr ? `: ${stderr.split("\n").slice(-3).join(" ")}` : ""}`, "run `weftctl local down` to clean up, then try again as root");
  }
}

async function succeeds(command: string, args: string[]): Promise<boolean> {
  try {
    await execFileAsync(command, args);
    return true;
  } catch {
    return false;
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

/** A pod's network: its namespace, a veth to the bridge, its IP and default route, its /etc/hosts. */
export async function createPodNetwork(plan: LocalPlan, pod: LocalPod): Promise<void> {
  const ns = pod.netns;
  if (!(await succeeds("ip", ["netns", "pids", ns]))) await runAsync("ip", ["netns", "add", ns], `creating the network namespace of ${pod.name}`);
  if (!(await succeeds("ip", ["link", "show", pod.hostVeth]))) {
    await runAsync("ip", ["link", "add", pod.hostVeth, "type", "veth", "peer", "name", "eth0", "netns", ns], `creating the veth of ${pod.name}`);
  }
  await runAsync("ip", ["link", "set", pod.hostVeth, "master", plan.bridge.name, "up"], `attaching ${pod.name} to the bridge`);
  // One `ip -batch` inside the namespace instead of a process per step.
  const batch = ["link set lo up", "link set eth0 up", `route replace default via ${plan.bridge.ip}`];
  const addrs = await runAsync("ip", ["-n", ns, "-o", "addr", "show", "dev", "eth0"], `reading ${pod.name}'s address`);
  if (!addrs.includes(` ${pod.ip}/`)) batch.splice(1, 0, `addr add ${pod.ip}/${plan.bridge.prefix} dev eth0`);
  await runAsync("sh", ["-c", `printf '%s\\n' ${batch.map((b) => `'${b}'`).join(" ")} | ip -n ${ns} -batch -`], `configuring ${pod.name}'s network`);
  const etc = join(NETNS_ETC, ns);
  mkdirSync(etc, { recursive: true });
  writeFileSync(join(etc, "hosts"), hostsFile(pod, plan.services));
  // Names that are not services fail fast instead of leaking to the host's resolver.
  writeFileSync(join(etc, "resolv.conf"), "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n");
}

/** Runs a command inside a pod's network namespace (e.g. the capture setup), failing with what to do next. */
export function runInPod(pod: LocalPod, argv: string[], what: string): Promise<string> {
  return runAsync("ip", ["netns", "exec", pod.netns, ...argv], what);
}

/**
 * Loads capture rules (iptables-save form, as `weft-agent iptables --dry-run`
 * prints them) into a fresh pod namespace with one native iptables-restore:
 * the rules are computed once for every pod instead of starting Node per pod.
 */
export function loadCaptureRules(pod: LocalPod, rules: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn("ip", ["netns", "exec", pod.netns, "iptables-restore", "--noflush"], { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.stdin.on("error", () => undefined); // an early exit is reported by its status below
    child.on("error", (e) => reject(new LocalError(`traffic capture for ${pod.namespace}/${pod.name}: ${e.message}`, "is iptables installed? (apt-get install iptables)")));
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new LocalError(`traffic capture for ${pod.namespace}/${pod.name}: iptables-restore exited ${code}: ${stderr.trim()}`, "check that iptables works here (iptables -t nat -L), then `weftctl local down` and try again")),
    );
    child.stdin.end(rules);
  });
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
