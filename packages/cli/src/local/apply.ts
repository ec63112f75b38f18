import { writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { stringify } from "yaml";
import { LocalError } from "./errors.js";
import { loadManifests } from "./manifests.js";
import type { LocalState } from "./state.js";

const WORKLOAD_KINDS = new Set(["Deployment", "Pod", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"]);

/**
 * Live config changes: copies the manifests into the directory discovery
 * watches, which pushes the change to every proxy. Workloads can't be added
 * this way (they need a network namespace): that's `local down` and `up`.
 */
export function localApply(state: LocalState, files: readonly string[]): string[] {
  const written: string[] = [];
  for (const file of files) {
    const docs = loadManifests([file]);
    const workloads = docs.filter((d) => WORKLOAD_KINDS.has(d.kind));
    if (workloads.length > 0) {
      throw new LocalError(`${file} defines workloads (${workloads.map((w) => `${w.kind} ${w.metadata.name}`).join(", ")})`, "add workloads with `weftctl local down` then `weftctl local up -f …`; apply is for Istio config and services");
    }
    const target = join(state.configDir, `50-applied-${basename(file).replace(/\.(ya?ml|json)$/, "")}.yaml`);
    writeFileSync(target, docs.map(({ __origin: _o, ...d }) => stringify(d)).join("---\n"));
    written.push(target);
  }
  return written;
}
