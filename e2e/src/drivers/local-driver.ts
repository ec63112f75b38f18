import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ExecResult, MeshDriver } from "./driver.js";
import { weftctl } from "./weftctl.js";

function has(tool: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** The last lines of every component's log, so a failed start explains itself in CI output. */
function logTails(stateDir: string): string {
  const files: string[] = [join(stateDir, "logs", "discovery.log")];
  const pods = join(stateDir, "pods");
  if (existsSync(pods)) {
    for (const ns of readdirSync(pods)) for (const pod of readdirSync(join(pods, ns))) for (const f of ["istio-proxy.log", "app.log"]) files.push(join(pods, ns, pod, f));
  }
  return files
    .filter((f) => existsSync(f))
    .map((f) => `--- ${f}\n${readFileSync(f, "utf8").trimEnd().split("\n").slice(-6).join("\n")}`)
    .join("\n");
}

async function ok(result: Promise<ExecResult>, what: string): Promise<ExecResult> {
  const r = await result;
  if (r.code !== 0) throw new Error(`${what} failed (exit ${r.code}):\n${r.stderr}${r.stdout}`);
  return r;
}

export interface LocalDriverOptions {
  /** `transparent` (root: namespaces + capture) or `explicit` (no root: 127.x addresses, HTTP_PROXY). */
  mode?: "transparent" | "explicit";
  /** Run every weftctl command as this uid (explicit mode proves it needs no root). */
  uid?: number;
}

/** The mesh as `weftctl local` runs it: real processes, with network namespaces and iptables capture in transparent mode. */
export function createLocalDriver(stateDir: string, options: LocalDriverOptions = {}): MeshDriver {
  const mode = options.mode ?? "transparent";
  const env = { WEFT_LOCAL_DIR: stateDir };
  const run = (args: string[], opts: { timeoutMs?: number } = {}) => weftctl(args, { env, uid: options.uid, ...opts });
  let ingressPort = 8080;
  return {
    name: mode === "transparent" ? "local" : "local explicit-mode",
    async unavailable() {
      if (mode === "explicit") return has("curl") ? undefined : "curl is not installed (apt-get install curl)";
      if (process.platform !== "linux") return "the local driver's transparent mode needs Linux network namespaces";
      if (process.getuid?.() !== 0) return "the local driver's transparent mode needs root (network namespaces, iptables); the explicit-mode suite runs without it";
      for (const tool of ["ip", "iptables", "curl"]) if (!has(tool)) return `${tool} is not installed (apt-get install iproute2 iptables curl)`;
      return undefined;
    },
    async up(upOptions) {
      ingressPort = upOptions.ingressPort;
      try {
        await ok(run(["local", "up", "-d", "--mode", mode, "--ingress-port", String(upOptions.ingressPort), ...(upOptions.ingressHttpsPort ? ["--ingress-https-port", String(upOptions.ingressHttpsPort)] : []), ...upOptions.files.flatMap((f) => ["-f", f])], { timeoutMs: 150_000 }), "weftctl local up");
      } catch (error) {
        throw new Error(`${(error as Error).message}\n${logTails(stateDir)}`, { cause: error });
      }
    },
    async down() {
      await ok(run(["local", "down"]), "weftctl local down");
    },
    async apply(files) {
      await ok(run(["local", "apply", ...files.flatMap((f) => ["-f", f])]), "weftctl local apply");
    },
    async delete(files) {
      await ok(run(["local", "delete", "--ignore-not-found", ...files.flatMap((f) => ["-f", f])]), "weftctl local delete");
    },
    exec: (workload, command, container) => run(["local", "exec", workload, ...(container ? ["-c", container] : []), "--", ...command], { timeoutMs: 30_000 }),
    async podIp(workload) {
      const r = await ok(run(["local", "status", "-o", "json"]), "weftctl local status");
      const report = JSON.parse(r.stdout) as { workloads: Array<{ name: string; namespace: string; ip: string }> };
      const w = report.workloads.find((x) => x.name === workload || x.name.replace(/-\d+$/, "") === workload || `${x.namespace}/${x.name}` === workload);
      if (!w) throw new Error(`no workload ${workload} in weftctl local status: ${report.workloads.map((x) => x.name).join(", ")}`);
      return w.ip;
    },
    async logs(workload, container) {
      return (await ok(run(["local", "logs", workload, ...(container ? ["-c", container] : [])]), "weftctl local logs")).stdout;
    },
    async restart(component) {
      await ok(run(["local", "restart", component]), `weftctl local restart ${component}`);
    },
    async processes() {
      const r = await run(["local", "status", "-o", "json"]);
      if (r.code !== 0) return [];
      const report = JSON.parse(r.stdout) as { workloads: Array<{ processes: Array<{ pid: number }> }>; discovery?: { pid: number } };
      return [...(report.discovery ? [report.discovery.pid] : []), ...report.workloads.flatMap((w) => w.processes.map((p) => p.pid))];
    },
    ingressUrl: () => `http://127.0.0.1:${ingressPort}`,
  };
}
