import { LocalError } from "./errors.js";
import { startDetached, stopAll } from "./processes.js";
import { writeState, type LocalState, type RunningProcess } from "./state.js";

/**
 * Restarts a component the way Kubernetes would restart its container:
 * `discovery`, `istio-ingressgateway`, or a workload (its app and sidecar).
 * Returns what was restarted.
 */
export async function localRestart(state: LocalState, component: string): Promise<RunningProcess[]> {
  const matches = state.processes.filter((p) => {
    if (component === "discovery" || component === "weft-discovery") return p.role === "discovery";
    if (component.startsWith("istio-ingressgateway")) return p.role === "gateway";
    const pod = p.owner.split("/")[1] ?? "";
    const ownerMatches = p.owner === component || pod === component || pod.replace(/-\d+$/, "") === component || state.plan.pods.some((x) => `${x.namespace}/${x.name}` === p.owner && x.labels.app === component);
    return (p.role === "app" || p.role === "sidecar") && ownerMatches;
  });
  if (matches.length === 0) throw new LocalError(`nothing called ${component} is running`, "see `weftctl local status`; components: discovery, istio-ingressgateway, or a workload");
  await stopAll(matches, 5000);
  const restarted = matches.map((p) => startDetached({ role: p.role, owner: p.owner, log: p.log, ...p.spec }));
  state.processes = state.processes.map((p) => restarted[matches.indexOf(p)] ?? p);
  writeState(state);
  return restarted;
}
