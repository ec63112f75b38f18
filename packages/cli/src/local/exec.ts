import { spawnSync } from "node:child_process";
import { LocalError } from "./errors.js";
import type { LocalState } from "./state.js";
import { childPath, explicitProxyEnv } from "./workload-env.js";
import type { LocalPod } from "./plan.js";

/** The sidecar's uid and gid, as Istio's injector sets them (capture lets its traffic out). */
const PROXY_UID = 1337;

/** Finds a workload by pod name, workload name or `ns/name`. */
export function findPod(state: LocalState, name: string): LocalPod {
  const [ns, short] = name.includes("/") ? name.split("/", 2) : [undefined, name];
  const matches = state.plan.pods.filter((p) => (!ns || p.namespace === ns) && (p.name === short || p.workload === short || p.labels.app === short));
  if (matches.length === 0) {
    const known = state.plan.pods.map((p) => p.name).join(", ");
    throw new LocalError(`no workload ${name}`, `known workloads: ${known}`);
  }
  return matches[0];
}

/**
 * Runs a command inside a workload's network, as the app would (so its traffic goes through
 * the sidecar), or with container "istio-proxy" as the sidecar container does: as uid 1337,
 * which capture lets out directly (Istio's `kubectl exec -c istio-proxy`), so it reaches
 * other pods in plaintext, bypassing its own sidecar.
 */
export function execInWorkload(state: LocalState, workload: string, command: string[], container?: string): number {
  if (command.length === 0) throw new LocalError("no command given", "usage: weftctl local exec <workload> [-c istio-proxy] -- CMD [ARGS…]");
  if (container !== undefined && container !== "istio-proxy") throw new LocalError(`no container ${container} in ${workload}`, "containers: the app (default) and istio-proxy");
  const pod = findPod(state, workload);
  if (container && !pod.sidecar) throw new LocalError(`${workload} has no sidecar (sidecar.istio.io/inject: "false")`, "run the command without -c istio-proxy");
  const env = { ...process.env, PATH: childPath() };
  let result;
  if (state.plan.mode === "explicit") {
    // No namespace to enter: the app's HTTP goes through the pod's sidecar as its proxy; the sidecar container's does not.
    result = spawnSync(command[0], command.slice(1), { stdio: "inherit", env: pod.sidecar && !container ? { ...env, ...explicitProxyEnv(pod) } : env });
  } else {
    const asSidecar = container ? ["setpriv", "--reuid", String(PROXY_UID), "--regid", String(PROXY_UID), "--clear-groups", "--"] : [];
    result = spawnSync("ip", ["netns", "exec", pod.netns, ...asSidecar, ...command], { stdio: "inherit", env });
  }
  if (result.error) throw new LocalError(`could not run ${command[0]}: ${result.error.message}`, "is it installed?");
  return result.status ?? 1;
}
