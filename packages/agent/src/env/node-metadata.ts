import { AgentError } from "../errors.js";

/** Istio copies every ISTIO_META_<KEY> into node metadata as a string, and parses ISTIO_METAJSON_<KEY> as JSON. */
export function metadataFromEnv(env: Record<string, string | undefined>): Record<string, unknown> {
  const meta: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    if (name.startsWith("ISTIO_METAJSON_")) {
      const key = name.slice("ISTIO_METAJSON_".length);
      try {
        meta[key] = JSON.parse(value);
      } catch (err) {
        throw new AgentError("invalid_env", `${name}: not valid JSON (${(err as Error).message})`, { cause: err });
      }
    }
  }
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !name.startsWith("ISTIO_META_")) continue;
    const key = name.slice("ISTIO_META_".length);
    // ISTIO_METAJSON_LABELS and friends win over a plain string of the same key.
    if (key in meta && typeof meta[key] === "object") continue;
    meta[key] = value;
  }
  return meta;
}

/**
 * Istio's bool-like metadata (model.StringBool) accepts "true"/"false"; everything else in
 * ISTIO_META_* stays the string it was, POD_PORTS included (Istio keeps it as a JSON string).
 */
export function asBool(v: unknown): boolean | undefined {
  if (typeof v === "boolean") return v;
  if (v === "true") return true;
  if (v === "false") return false;
  return undefined;
}
