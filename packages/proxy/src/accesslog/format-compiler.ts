import type { StreamInfo } from "../contracts.js";
import { AccessLogFormatError, compileOperator, type LogValue, type ValueFn } from "./command-operators.js";

/** Envoy's default access log format (used when a logger gives none). */
export const DEFAULT_TEXT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" ' +
  "%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% " +
  '%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" ' +
  '"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"\n';

export type Formatter = (info: StreamInfo) => string;

type Part = string | { fn: ValueFn; maxLength?: number };

const COMMAND = /^[A-Z][A-Z0-9_-]*/;

/** Splits a format string into literals and compiled `%COMMAND(arg):N%` operators. */
export function parseFormat(format: string): Part[] {
  const parts: Part[] = [];
  let literal = "";
  let i = 0;
  while (i < format.length) {
    const ch = format[i]!;
    if (ch !== "%") {
      literal += ch;
      i++;
      continue;
    }
    if (format[i + 1] === "%") {
      literal += "%";
      i += 2;
      continue;
    }
    const rest = format.slice(i + 1);
    const name = COMMAND.exec(rest)?.[0];
    if (!name) throw new AccessLogFormatError(`bad access log format at offset ${i}: '%' must start %COMMAND% or be doubled ('%%'), in '${format}'`);
    let j = i + 1 + name.length;
    let arg: string | undefined;
    if (format[j] === "(") {
      // The argument may itself hold '%' (START_TIME formats), so look for the
      // closing ')' that is followed by '%' or ':<digits>%'.
      const close = /\)(?::(\d+))?%/g;
      close.lastIndex = j + 1;
      const m = close.exec(format);
      if (!m) throw new AccessLogFormatError(`unterminated %${name}(…)% in access log format '${format}'`);
      arg = format.slice(j + 1, m.index);
      const maxLength = m[1] !== undefined ? Number(m[1]) : undefined;
      if (literal) parts.push(literal);
      literal = "";
      parts.push({ fn: compileOperator(name, arg), maxLength });
      i = m.index + m[0].length;
      continue;
    }
    const tail = /^(?::(\d+))?%/.exec(format.slice(j));
    if (!tail) throw new AccessLogFormatError(`unterminated %${name}% in access log format '${format}'`);
    j += tail[0].length;
    if (literal) parts.push(literal);
    literal = "";
    parts.push({ fn: compileOperator(name, undefined), maxLength: tail[1] !== undefined ? Number(tail[1]) : undefined });
    i = j;
  }
  if (literal) parts.push(literal);
  return parts;
}

function asText(v: LogValue, maxLength?: number, empty = "-"): string {
  let s = v === null ? empty : typeof v === "object" ? JSON.stringify(v) : String(v);
  if (maxLength !== undefined && s.length > maxLength) s = s.slice(0, maxLength);
  return s;
}

/** text_format / text_format_source: absent values print `-`. */
export function compileTextFormat(format: string = DEFAULT_TEXT_FORMAT, options: { omitEmptyValues?: boolean } = {}): Formatter {
  const parts = parseFormat(format);
  // omit_empty_values: absent values print nothing instead of `-`.
  const empty = options.omitEmptyValues ? "" : "-";
  return (info) => {
    let out = "";
    for (const p of parts) out += typeof p === "string" ? p : asText(p.fn(info), p.maxLength, empty);
    return out;
  };
}

type JsonNode = (info: StreamInfo) => unknown;

function compileJsonValue(value: unknown, path: string): JsonNode {
  if (typeof value === "string") {
    const parts = parseFormat(value);
    if (parts.length === 1 && typeof parts[0] !== "string") {
      // A lone operator keeps its type: numbers stay numbers, absent is null.
      const { fn, maxLength } = parts[0]!;
      return (info) => {
        const v = fn(info);
        return typeof v === "string" && maxLength !== undefined ? v.slice(0, maxLength) : v;
      };
    }
    return (info) => {
      let out = "";
      for (const p of parts) out += typeof p === "string" ? p : asText(p.fn(info), p.maxLength);
      return out;
    };
  }
  if (value && typeof value === "object" && !Array.isArray(value)) {
    const fields = Object.entries(value).map(([k, v]) => [k, compileJsonValue(v, `${path}.${k}`)] as const);
    return (info) => {
      const obj: Record<string, unknown> = {};
      for (const [k, fn] of fields) obj[k] = fn(info);
      return obj;
    };
  }
  if (Array.isArray(value)) throw new AccessLogFormatError(`${path}: lists are not supported in json_format (Envoy rejects them too)`);
  return () => value;
}

function omitEmpty(value: unknown): unknown {
  if (!value || typeof value !== "object" || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const inner = omitEmpty(v);
    if (inner === null || inner === "" || (typeof inner === "object" && !Array.isArray(inner) && Object.keys(inner as object).length === 0)) continue;
    out[k] = inner;
  }
  return out;
}

/** json_format: one JSON object per line; `omit_empty_values` drops null and empty fields. */
export function compileJsonFormat(format: Record<string, unknown>, options: { omitEmptyValues?: boolean } = {}): Formatter {
  const root = compileJsonValue(format, "json_format");
  const omit = options.omitEmptyValues ?? false;
  return (info) => JSON.stringify(omit ? omitEmpty(root(info)) : root(info)) + "\n";
}
