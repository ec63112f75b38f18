import { existsSync, readFileSync } from "node:fs";
import { LocalError } from "./errors.js";
import { findPod } from "./exec.js";
import type { LocalState } from "./state.js";

/** The log of a workload's app, or with `container: "istio-proxy"` of its sidecar (agent and proxy, access logs included). */
export function readWorkloadLog(state: LocalState, workload: string, container?: string): string {
  const isGateway = workload === "istio-ingressgateway" || workload.startsWith("istio-ingressgateway");
  const owner = isGateway ? `${state.plan.gateway.namespace}/${state.plan.gateway.name}-local` : (() => {
    const pod = findPod(state, workload);
    return `${pod.namespace}/${pod.name}`;
  })();
  const role = isGateway || container === "istio-proxy" ? (isGateway ? "gateway" : "sidecar") : "app";
  const proc = state.processes.find((p) => p.owner === owner && p.role === role);
  if (!proc) throw new LocalError(`${owner} has no ${container ?? "app"} process`, container ? "" : "try -c istio-proxy");
  return existsSync(proc.log) ? readFileSync(proc.log, "utf8") : "";
}
