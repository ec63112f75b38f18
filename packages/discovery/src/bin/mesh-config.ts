// Istio's mesh config (the `mesh` key of ConfigMap istio, or --meshConfig for
// pilot-discovery), the fields Weft honours. Unknown fields are ignored, as
// istiod ignores fields it doesn't know; bad values are errors naming them.
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import type { PushContextOptions } from "../push-context/push-context.js";
import { UsageError } from "./parse-flags.js";

type MeshOptions = Pick<PushContextOptions, "accessLogFile" | "accessLogEncoding" | "rootNamespace" | "outboundTrafficPolicy" | "connectTimeoutMs" | "trustDomain" | "trustDomainAliases" | "enableAutoMtls">;

const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;

function durationMs(value: unknown, field: string, file: string): number {
  const m = typeof value === "string" ? /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value) : null;
  if (!m) throw new UsageError(`${file}: ${field}: ${JSON.stringify(value)} is not a duration like "10s" or "500ms"`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
}

/** Reads a mesh config file into push-context options. */
export function readMeshConfig(file: string): MeshOptions {
  let doc: unknown;
  try {
    doc = parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new UsageError(`--mesh-config ${file}: ${(error as Error).message}`);
  }
  if (doc == null) return {};
  if (typeof doc !== "object" || Array.isArray(doc)) throw new UsageError(`--mesh-config ${file}: expected a mapping of mesh config fields`);
  // Accept the ConfigMap's `mesh:` wrapper as well as the bare mesh config.
  const mesh = ("mesh" in doc && typeof (doc as { mesh: unknown }).mesh === "object" ? (doc as { mesh: object }).mesh : doc) as Record<string, unknown>;
  const out: MeshOptions = {};
  if (mesh.accessLogFile !== undefined) {
    if (typeof mesh.accessLogFile !== "string") throw new UsageError(`${file}: accessLogFile must be a path such as /dev/stdout`);
    if (mesh.accessLogFile) out.accessLogFile = mesh.accessLogFile;
  }
  if (mesh.accessLogEncoding !== undefined) {
    if (mesh.accessLogEncoding !== "JSON" && mesh.accessLogEncoding !== "TEXT") throw new UsageError(`${file}: accessLogEncoding must be TEXT or JSON, got ${JSON.stringify(mesh.accessLogEncoding)}`);
    out.accessLogEncoding = mesh.accessLogEncoding;
  }
  if (mesh.rootNamespace !== undefined) out.rootNamespace = String(mesh.rootNamespace);
  const policy = (mesh.outboundTrafficPolicy as { mode?: unknown } | undefined)?.mode;
  if (policy !== undefined) {
    if (policy !== "ALLOW_ANY" && policy !== "REGISTRY_ONLY") throw new UsageError(`${file}: outboundTrafficPolicy.mode must be ALLOW_ANY or REGISTRY_ONLY`);
    out.outboundTrafficPolicy = policy;
  }
  if (mesh.connectTimeout !== undefined) out.connectTimeoutMs = durationMs(mesh.connectTimeout, "connectTimeout", file);
  // Security (issue 7): the SPIFFE trust domain, its aliases, auto mTLS.
  if (mesh.trustDomain !== undefined) {
    if (typeof mesh.trustDomain !== "string" || !TRUST_DOMAIN.test(mesh.trustDomain)) throw new UsageError(`${file}: trustDomain ${JSON.stringify(mesh.trustDomain)} must be lower-case letters, digits, '.', '-' or '_'`);
    out.trustDomain = mesh.trustDomain;
  }
  if (mesh.trustDomainAliases !== undefined) {
    const aliases = mesh.trustDomainAliases;
    if (!Array.isArray(aliases) || !aliases.every((a) => typeof a === "string" && TRUST_DOMAIN.test(a))) throw new UsageError(`${file}: trustDomainAliases must be a list of trust domains`);
    out.trustDomainAliases = aliases as string[];
  }
  if (mesh.enableAutoMtls !== undefined) {
    if (typeof mesh.enableAutoMtls !== "boolean") throw new UsageError(`${file}: enableAutoMtls must be true or false`);
    out.enableAutoMtls = mesh.enableAutoMtls;
  }
  return out;
}
