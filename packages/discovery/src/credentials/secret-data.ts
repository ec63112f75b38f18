// A v1 Secret's bytes, as the API server stores them: `data` values are
// base64 (Go's StdEncoding, which skips CR/LF), `stringData` values are plain
// strings that win over `data` for the same key (the API server merges them on
// write). Problems name the key, never the value.
import { isObject } from "../source/field-checker.js";

export interface SecretDataProblem {
  /** `data[tls.key]` / `stringData[cert]` / `type`. */
  field: string;
  reason: string;
}

export interface DecodedSecretData {
  type: string;
  data: Map<string, Buffer>;
  /** Where each key's bytes came from, for error fields (`data[tls.key]` / `stringData[tls.key]`). */
  fieldOf: Map<string, string>;
  problems: SecretDataProblem[];
}

/** Kubernetes' rule for Secret and ConfigMap keys (IsConfigMapKey). */
const DATA_KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** What a value is, without showing it. */
function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "a map" : `a ${typeof value}`;
}

function checkKey(key: string, field: string, problems: SecretDataProblem[]): boolean {
  if (key.length > 0 && key.length <= 253 && DATA_KEY.test(key)) return true;
  problems.push({ field: `${field}[${key}]`, reason: `key ${JSON.stringify(key.slice(0, 64))} is not a valid Secret key (letters, digits, '-', '_', '.')` });
  return false;
}

export function decodeSecretData(raw: Record<string, unknown>): DecodedSecretData {
  const problems: SecretDataProblem[] = [];
  const data = new Map<string, Buffer>();
  const fieldOf = new Map<string, string>();
  let type = "Opaque";
  if (raw.type !== undefined) {
    if (typeof raw.type === "string" && raw.type !== "") type = raw.type;
    else problems.push({ field: "type", reason: `must be a non-empty string, got ${kindOf(raw.type)}` });
  }
  for (const field of ["data", "stringData"] as const) {
    const map = raw[field];
    if (map === undefined || map === null) continue;
    if (!isObject(map)) {
      problems.push({ field, reason: `must be a map of key to ${field === "data" ? "base64 string" : "string"}, got ${kindOf(map)}` });
      continue;
    }
    for (const [key, value] of Object.entries(map)) {
      if (!checkKey(key, field, problems)) continue;
      if (typeof value !== "string") {
        problems.push({ field: `${field}[${key}]`, reason: `${key} must be a ${field === "data" ? "base64 " : ""}string, got ${kindOf(value)}` });
        continue;
      }
      if (field === "stringData") {
        data.set(key, Buffer.from(value, "utf8"));
        fieldOf.set(key, `stringData[${key}]`);
        continue;
      }
      const compact = value.replace(/[\r\n]/g, "");
      if (!BASE64.test(compact)) {
        problems.push({ field: `data[${key}]`, reason: `${key} is not valid base64 (data values are base64-encoded; put plain PEM under stringData instead)` });
        continue;
      }
      data.set(key, Buffer.from(compact, "base64"));
      fieldOf.set(key, `data[${key}]`);
    }
  }
  return { type, data, fieldOf, problems };
}
