// request/response headers_to_add / headers_to_remove with Envoy's append
// semantics (HeaderValueOption.append, append_action, keep_empty_value).
import type { HeaderValueOption } from "@weft/xds-api/gen/envoy/config/core/v3/base_pb.js";
import type { Headers } from "../http/request-context.js";
import { ResourceRejectedError } from "../contracts.js";
import { utf8WireString } from "../http/wire-string.js";

type Action = 0 | 1 | 2 | 3; // APPEND_IF_EXISTS_OR_ADD, ADD_IF_ABSENT, OVERWRITE_IF_EXISTS_OR_ADD, OVERWRITE_IF_EXISTS

export interface HeaderAdd {
  key: string;
  /** Literal value, or a formatter for Envoy %VARIABLES%. */
  value: string | ((v: FormatVars) => string);
  action: Action;
  keepEmpty: boolean;
}

/** What %VARIABLES% read; a RequestContext satisfies it, so nothing is allocated per request. */
export interface FormatVars {
  downstreamRemoteIp: string;
  downstreamRemotePort: number;
  downstreamLocalAddress: string;
  protocol: string;
  info: { upstreamHost?: string };
}

export interface HeaderMutation {
  add: HeaderAdd[];
  remove: string[];
}

export const EMPTY_MUTATION: HeaderMutation = { add: [], remove: [] };

export function compileHeaderMutation(
  add: HeaderValueOption[],
  remove: string[],
  resource: string,
  field: string,
  report: (field: string, detail?: string) => void,
): HeaderMutation {
  if (add.length === 0 && remove.length === 0) return EMPTY_MUTATION;
  const out: HeaderMutation = { add: [], remove: remove.map((r) => r.toLowerCase()) };
  add.forEach((o, i) => {
    const key = o.header?.key.toLowerCase();
    if (!key) throw new ResourceRejectedError(resource, `${field}_to_add[${i}].header.key`, "header key is required");
    // Header values travel as bytes; the codecs write strings one byte per character (latin1).
    // A config `value` is UTF-8 (Envoy sends those bytes), `raw_value` is the bytes themselves.
    const raw = o.header!.value ? utf8WireString(o.header!.value) : Buffer.from(o.header!.rawValue).toString("latin1");
    const action: Action = o.append !== undefined ? (o.append ? 0 : 2) : (o.appendAction as Action);
    out.add.push({ key, value: compileFormat(raw, (d) => report(`${field}_to_add.header.value`, d)), action, keepEmpty: o.keepEmptyValue });
  });
  return out;
}

/** The handful of %VARIABLES% used in header values; others are kept literally with a report. */
function compileFormat(raw: string, report: (d: string) => void): HeaderAdd["value"] {
  if (!raw.includes("%")) return raw;
  const parts = raw.split(/(%[A-Z_]+(?:\([^)]*\))?%)/);
  const fns: Array<(v: FormatVars) => string> = parts.map((p) => {
    switch (p) {
      case "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%":
        return (v) => v.downstreamRemoteIp;
      case "%DOWNSTREAM_REMOTE_ADDRESS%":
        return (v) => `${v.downstreamRemoteIp}:${v.downstreamRemotePort}`;
      case "%DOWNSTREAM_LOCAL_ADDRESS%":
        return (v) => v.downstreamLocalAddress;
      case "%DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT%":
        return (v) => v.downstreamLocalAddress.slice(0, v.downstreamLocalAddress.lastIndexOf(":"));
      case "%PROTOCOL%":
        return (v) => v.protocol;
      case "%UPSTREAM_REMOTE_ADDRESS%":
        return (v) => v.info.upstreamHost ?? "";
      case "%%":
        return () => "%";
      default:
        if (/^%[A-Z_]+/.test(p) && p.endsWith("%")) report(`${p} is not supported in header values; sent literally`);
        return () => p;
    }
  });
  return (v) => {
    let s = "";
    for (const f of fns) s += f(v);
    return s;
  };
}

export function applyHeaderMutation(headers: Headers, m: HeaderMutation, vars: FormatVars): void {
  for (const r of m.remove) delete headers[r];
  for (const a of m.add) {
    const value = typeof a.value === "string" ? a.value : a.value(vars);
    if (value === "" && !a.keepEmpty) continue;
    const cur = headers[a.key];
    switch (a.action) {
      case 0:
        if (cur === undefined) headers[a.key] = value;
        else if (typeof cur === "string") headers[a.key] = [cur, value];
        else cur.push(value);
        break;
      case 1:
        if (cur === undefined) headers[a.key] = value;
        break;
      case 2:
        headers[a.key] = value;
        break;
      case 3:
        if (cur !== undefined) headers[a.key] = value;
        break;
    }
  }
}
