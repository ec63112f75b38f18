import { isAlive } from "./processes.js";
import { readiness, type WorkloadReadiness } from "./up.js";
import type { LocalState } from "./state.js";

export interface StatusReport {
  mode: string;
  ingressUrl: string;
  /** Where the ingress serves HTTPS Gateway servers (its Service's 443). */
  ingressHttpsPort: number;
  discovery: { pid: number; alive: boolean; httpAddress: string } | undefined;
  workloads: Array<WorkloadReadiness & { processes: Array<{ role: string; pid: number; alive: boolean }> }>;
}

export async function localStatus(state: LocalState): Promise<StatusReport> {
  const ready = await readiness(state);
  const discovery = state.processes.find((p) => p.role === "discovery");
  return {
    mode: state.plan.mode,
    ingressUrl: `http://127.0.0.1:${state.plan.gateway.port}`,
    ingressHttpsPort: state.plan.gateway.httpsPort,
    discovery: discovery && { pid: discovery.pid, alive: isAlive(discovery.pid), httpAddress: state.discovery.httpAddress },
    workloads: ready.map((w) => ({
      ...w,
      processes: state.processes.filter((p) => p.owner === `${w.namespace}/${w.name}`).map((p) => ({ role: p.role, pid: p.pid, alive: isAlive(p.pid) })),
    })),
  };
}

/** A fixed-width table, the way kubectl and istioctl print them. */
export function formatTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] + 3))).join("").trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

export function formatStatus(report: StatusReport): string {
  const rows = report.workloads.map((w) => [`${w.namespace}/${w.name}`, w.ip, w.sidecar === "none" ? "-" : w.sidecar === "ready" ? "READY" : "NOT READY", w.app === "no command" ? "-" : w.app.toUpperCase()]);
  return formatTable(["WORKLOAD", "POD IP", "SIDECAR", "APP"], rows) + `\nIngress: ${report.ingressUrl}, HTTPS servers on port ${report.ingressHttpsPort}  (mode: ${report.mode})\n`;
}
