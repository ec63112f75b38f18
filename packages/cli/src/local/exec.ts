import { spawnSync } from "node:child_process";
import { LocalError } from "./errors.js";
import type { LocalState } from "./state.js";
import { childPath } from "./workload-env.js";
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

/** Runs a command inside a workload's network, as the app would (so its traffic is captured by the sidecar). */
export function execInWorkload(state: LocalState, workload: string, command: string[]): number {
  if (command.length === 0) throw new LocalError("no command given", "usage: weftctl local exec <workload> -- CMD [ARGS…]");
  const pod = findPod(state, workload);
  const result = spawnSync("ip", ["netns", "exec", pod.netns, ...command], { stdio: "inherit", env: { ...process.env, PATH: childPath() } });
  if (result.error) throw new LocalError(`could not run ${command[0]}: ${result.error.message}`, "is it installed?");
  return result.status ?? 1;
}
