import { spawnSync } from "node:child_process";
import { LocalError } from "./errors.js";
import type { LocalState } from "./state.js";
import { childPath, explicitProxyEnv } from "./workload-env.js";
import type { LocalPod } from "./plan.js";

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

/** Runs a command inside a workload's network, as the app would (so its traffic goes through the sidecar). */
export function execInWorkload(state: LocalState, workload: string, command: string[]): number {
  if (command.length === 0) throw new LocalError("no command given", "usage: weftctl local exec <workload> -- CMD [ARGS…]");
  const pod = findPod(state, workload);
  const env = { ...process.env, PATH: childPath() };
  // Explicit mode has no namespace to enter: the command's HTTP goes through the pod's sidecar as its proxy.
  const result =
    state.plan.mode === "explicit"
      ? spawnSync(command[0], command.slice(1), { stdio: "inherit", env: pod.sidecar ? { ...env, ...explicitProxyEnv(pod) } : env })
      : spawnSync("ip", ["netns", "exec", pod.netns, ...command], { stdio: "inherit", env });
  if (result.error) throw new LocalError(`could not run ${command[0]}: ${result.error.message}`, "is it installed?");
  return result.status ?? 1;
}
