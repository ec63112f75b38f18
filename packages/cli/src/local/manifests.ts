import { readFileSync, readdirSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { parseAllDocuments } from "yaml";
import { LocalError } from "./errors.js";

/** One Kubernetes object from a manifest, with where it came from. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  [key: string]: unknown;
  /** `file.yaml#2` — not written back out. */
  __origin?: string;
}

const MANIFEST_EXTENSIONS = new Set([".yaml", ".yml", ".json"]);

function filesUnder(path: string): string[] {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (!stat) throw new LocalError(`no such file or directory: ${path}`, "check the path given to -f");
  if (stat.isFile()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((entry) => {
      const child = join(path, entry);
      const s = statSync(child);
      if (s.isDirectory()) return filesUnder(child);
      return MANIFEST_EXTENSIONS.has(extname(entry)) ? [child] : [];
    });
}

/** Reads every object from the given files and directories (multi-document YAML and `List`s). */
export function loadManifests(paths: readonly string[]): Manifest[] {
  const out: Manifest[] = [];
  for (const file of paths.flatMap(filesUnder)) {
    const docs = parseAllDocuments(readFileSync(file, "utf8"));
    docs.forEach((doc, index) => {
      const origin = `${file}#${index + 1}`;
      if (doc.errors.length > 0) throw new LocalError(`${origin}: ${doc.errors[0].message}`, "fix the YAML and run the command again");
      const value = doc.toJS() as unknown;
      if (value == null) return;
      for (const item of flattenList(value, origin)) out.push({ ...item, __origin: origin });
    });
  }
  return out;
}

function flattenList(value: unknown, origin: string): Manifest[] {
  if (typeof value !== "object" || Array.isArray(value)) throw new LocalError(`${origin}: not a Kubernetes object`, "each YAML document must be a mapping with apiVersion and kind");
  const obj = value as Manifest;
  if (obj.kind === "List" && Array.isArray(obj.items)) return (obj.items as unknown[]).flatMap((i) => flattenList(i, origin));
  if (!obj.kind || !obj.apiVersion || !obj.metadata?.name) {
    throw new LocalError(`${origin}: object without apiVersion, kind or metadata.name`, "every object needs apiVersion, kind and metadata.name");
  }
  return [obj];
}

export function namespaceOf(m: Manifest): string {
  return m.metadata.namespace || "default";
}
