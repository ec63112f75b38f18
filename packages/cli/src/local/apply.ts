import { chmodSync, readdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { LocalError } from "./errors.js";
import { loadManifests, namespaceOf, type Manifest } from "./manifests.js";
import type { LocalState } from "./state.js";

const WORKLOAD_KINDS = new Set(["Deployment", "Pod", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"]);
const APPLIED_FILE = "50-applied.yaml";

function identity(m: Manifest): string {
  return `${m.kind}/${namespaceOf(m)}/${m.metadata.name}`;
}

function writeAtomically(path: string, docs: readonly Manifest[]): void {
  // Discovery watches this directory: it must never see half a file. A file holding a Secret
  // (private keys) is readable by this user alone: the sidecars run as another uid.
  const mode = docs.some((d) => d.kind === "Secret") ? 0o600 : 0o644;
  writeFileSync(path + ".tmp", docs.map(({ __origin: _o, ...d }) => stringify(d)).join("---\n"), { mode });
  chmodSync(path + ".tmp", mode);
  renameSync(path + ".tmp", path);
}

/**
 * Live config changes, with `kubectl apply` semantics: an object replaces the
 * one of the same kind, namespace and name wherever it was defined, so
 * discovery sees exactly one of each. Workloads can't be added this way (they
 * need a network namespace): that's `local down` and `up`.
 */
export function localApply(state: LocalState, files: readonly string[]): string[] {
  return applyObjects(state, loadManifests(files));
}

/** `localApply` for objects already in memory (`create secret`). */
export function applyObjects(state: LocalState, incoming: readonly Manifest[]): string[] {
  const workloads = incoming.filter((d) => WORKLOAD_KINDS.has(d.kind));
  if (workloads.length > 0) {
    throw new LocalError(`cannot apply workloads (${workloads.map((w) => `${w.kind} ${w.metadata.name}`).join(", ")})`, "add workloads with `weftctl local down` then `weftctl local up -f …`; apply is for Istio config and services");
  }
  const byFile = new Map<string, Manifest[]>();
  for (const name of readdirSync(state.configDir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    byFile.set(name, loadManifests([join(state.configDir, name)]));
  }
  if (!byFile.has(APPLIED_FILE)) byFile.set(APPLIED_FILE, []);
  const changed = new Set<string>();
  for (const doc of incoming) {
    const id = identity(doc);
    let replaced = false;
    for (const [file, docs] of byFile) {
      const at = docs.findIndex((d) => identity(d) === id);
      if (at >= 0) {
        docs[at] = doc;
        changed.add(file);
        replaced = true;
      }
    }
    if (!replaced) {
      byFile.get(APPLIED_FILE)!.push(doc);
      changed.add(APPLIED_FILE);
    }
  }
  for (const file of changed) writeAtomically(join(state.configDir, file), byFile.get(file)!);
  return incoming.map(identity);
}
