// The local mesh's config directory, which discovery watches: read per file,
// written back whole and atomically, objects told apart as kubectl does (kind,
// namespace, name). `apply` and `delete` both edit it through here.
import { chmodSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { LocalError } from "./errors.js";
import { loadManifests, type Manifest } from "./manifests.js";
import type { LocalState } from "./state.js";

/** Workloads need a network namespace and a sidecar: `up` starts them, `down` stops them. */
export const WORKLOAD_KINDS = new Set(["Deployment", "Pod", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"]);

export function identity(m: Pick<Manifest, "kind" | "metadata">): string {
  return `${m.kind}/${m.metadata.namespace || "default"}/${m.metadata.name}`;
}

/** A workload kind however kubectl's user spells it (`deployments`, `Deployment.apps`). */
export function isWorkloadKind(kind: string): boolean {
  const bare = kind.toLowerCase().split(".")[0];
  return [...WORKLOAD_KINDS].some((k) => bare === k.toLowerCase() || bare === `${k.toLowerCase()}s`);
}

/** Refuses workloads (`Kind name`, …), saying what to do instead (`verb` is apply or delete). */
export function refuseWorkloads(objects: ReadonlyArray<{ kind: string; name: string }>, verb: string): void {
  const workloads = objects.filter((o) => isWorkloadKind(o.kind));
  if (workloads.length > 0) {
    throw new LocalError(`cannot ${verb} workloads (${workloads.map((w) => `${w.kind} ${w.name}`).join(", ")})`, `add or remove workloads with \`weftctl local down\` then \`weftctl local up -f …\`; ${verb} is for Istio config and services`);
  }
}

/** Every YAML file of the config directory, by file name, in the order discovery reads them. */
export function readConfigDir(state: LocalState): Map<string, Manifest[]> {
  const byFile = new Map<string, Manifest[]>();
  for (const name of readdirSync(state.configDir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    byFile.set(name, loadManifests([join(state.configDir, name)]));
  }
  return byFile;
}

export function writeConfigFile(state: LocalState, file: string, docs: readonly Manifest[]): void {
  const path = join(state.configDir, file);
  // Discovery watches this directory: it must never see half a file. A file holding a Secret
  // (private keys) is readable by this user alone: the sidecars run as another uid.
  const mode = docs.some((d) => d.kind === "Secret") ? 0o600 : 0o644;
  writeFileSync(path + ".tmp", docs.map(({ __origin: _o, ...d }) => stringify(d)).join("---\n"), { mode });
  chmodSync(path + ".tmp", mode);
  renameSync(path + ".tmp", path);
}

