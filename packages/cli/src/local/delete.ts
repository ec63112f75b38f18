// `weftctl local delete`: kubectl delete for the local mesh's config — by file
// (`-f`) or by kind and name — removed from the config directory discovery
// watches, so the mesh drops the objects as a cluster would.
import { unlinkSync } from "node:fs";
import { join } from "node:path";
import { identity, readConfigDir, refuseWorkloads, writeConfigFile } from "./config-dir.js";
import { LocalError } from "./errors.js";
import { loadManifests, type Manifest } from "./manifests.js";
import type { LocalState } from "./state.js";

export interface DeleteTarget {
  kind: string;
  namespace: string;
  name: string;
}

/** kubectl's short names for the kinds a mesh's config holds. */
const SHORT_NAMES: Record<string, string> = { vs: "virtualservice", dr: "destinationrule", gw: "gateway", se: "serviceentry", svc: "service", cm: "configmap" };

/** `virtualservices.networking.istio.io`, `VirtualService`, `vs` → `virtualservice`. */
export function kindKey(arg: string): string {
  const bare = arg.toLowerCase().split(".")[0];
  if (SHORT_NAMES[bare]) return SHORT_NAMES[bare];
  if (bare.endsWith("ies")) return `${bare.slice(0, -3)}y`; // serviceentries
  if (bare.endsWith("sses")) return bare.slice(0, -2); // ingresses, gatewayclasses
  if (bare.endsWith("ses")) return bare.slice(0, -1); // services
  if (bare.endsWith("ss")) return bare; // Ingress, GatewayClass: singular already
  return bare.endsWith("s") ? bare.slice(0, -1) : bare;
}

/** The objects of `files`, as delete targets; `namespace` for those that name none (kubectl's -n). */
export function targetsOfFiles(files: readonly string[], namespace = "default"): DeleteTarget[] {
  return loadManifests(files).map((d: Manifest) => ({ kind: d.kind, namespace: d.metadata.namespace || namespace, name: d.metadata.name }));
}

/** `KIND NAME…` or `KIND/NAME…`, as kubectl takes them. */
export function targetsOfArgs(args: readonly string[], namespace = "default"): DeleteTarget[] {
  if (args.length === 0) throw new LocalError("nothing to delete", "usage: weftctl local delete -f FILE… | KIND NAME… | KIND/NAME… [-n NAMESPACE]");
  if (args[0].includes("/")) {
    return args.map((a) => {
      const [kind, name, extra] = a.split("/");
      if (!kind || !name || extra !== undefined) throw new LocalError(`${a}: expected KIND/NAME`, "e.g. weftctl local delete authorizationpolicy/allow-nothing");
      return { kind, namespace, name };
    });
  }
  const [kind, ...names] = args;
  if (names.length === 0) throw new LocalError(`which ${kind}? no name given`, `usage: weftctl local delete ${kind} NAME…`);
  return names.map((name) => ({ kind, namespace, name }));
}

/**
 * Removes every target found (a kind matches by name, plural, group or short name) and
 * reports the others: kubectl deletes what it can, then fails for what it did not find.
 * Workloads are refused, as apply refuses them.
 */
export function localDelete(state: LocalState, targets: readonly DeleteTarget[]): { deleted: string[]; notFound: string[] } {
  refuseWorkloads(targets, "delete");
  const byFile = readConfigDir(state);
  const changed = new Set<string>();
  const deleted: string[] = [];
  const notFound: string[] = [];
  for (const t of targets) {
    const key = kindKey(t.kind);
    let found: Manifest | undefined;
    for (const [file, docs] of byFile) {
      const kept = docs.filter((d) => !(d.kind.toLowerCase() === key && (d.metadata.namespace || "default") === t.namespace && d.metadata.name === t.name));
      if (kept.length === docs.length) continue;
      found ??= docs.find((d) => !kept.includes(d));
      byFile.set(file, kept);
      changed.add(file);
    }
    if (found) deleted.push(identity(found));
    else notFound.push(`${t.kind}/${t.namespace}/${t.name}`);
  }
  for (const file of changed) {
    const docs = byFile.get(file)!;
    if (docs.length === 0) unlinkSync(join(state.configDir, file));
    else writeConfigFile(state, file, docs);
  }
  return { deleted, notFound };
}

/** The error for what was not found, with kubectl's way out. */
export function notFoundError(notFound: readonly string[]): LocalError {
  return new LocalError(`not found: ${notFound.join(", ")}`, "check the name and namespace (`-n`), or pass --ignore-not-found");
}
