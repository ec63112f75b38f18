import { loadManifests, type Manifest } from "./manifests.js";
import { identity, readConfigDir, refuseWorkloads, writeConfigFile } from "./config-dir.js";
import type { LocalState } from "./state.js";

const APPLIED_FILE = "50-applied.yaml";

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
  refuseWorkloads(incoming.map((d) => ({ kind: d.kind, name: d.metadata.name })), "apply");
  const byFile = readConfigDir(state);
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
  for (const file of changed) writeConfigFile(state, file, byFile.get(file)!);
  return incoming.map(identity);
}
