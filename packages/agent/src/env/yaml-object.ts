import { parseJsonOrYaml } from "./json-or-yaml.js";
import { AgentError } from "../errors.js";

/** Parses JSON or YAML text that must hold an object (e.g. an annotation value). */
export function parseYamlObject(text: string, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = parseJsonOrYaml(text);
  } catch (err) {
    throw new AgentError("invalid_env", `${what}: neither JSON nor YAML (${(err as Error).message})`, { cause: err });
  }
  if (v === null || v === undefined) return {};
  if (typeof v !== "object" || Array.isArray(v)) throw new AgentError("invalid_env", `${what}: expected an object`);
  return v as Record<string, unknown>;
}
