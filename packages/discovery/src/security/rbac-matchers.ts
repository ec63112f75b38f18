// Single values of an AuthorizationPolicy → Envoy RBAC principals and
// permissions (envoy.config.rbac.v3), following istiod's generators
// (pilot/pkg/security/authz/model/generator.go) in Envoy-native form:
// peer identities are `authenticated.principal_name` (the URI SAN of the
// verified client certificate, `spiffe://` added), request identities are the
// payload jwt_authn verified, which it writes to dynamic metadata
// `envoy.filters.http.jwt_authn` under the issuer (payload_in_metadata =
// issuer, see jwt-authn.ts) — so `iss/sub` matches key <iss>, field `sub`.
import type { JsonObject } from "@bufbuild/protobuf";
import { isIP } from "node:net";

export const JWT_FILTER = "envoy.filters.http.jwt_authn";

export class ValueError extends Error {
  constructor(
    message: string,
    /** True when the value is fine but HTTP-only and the chain is TCP (not a config error). */
    readonly httpOnly = false,
  ) {
    super(message);
  }
}

const ANY_REGEX: JsonObject = { safe_regex: { regex: ".+" } };

function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&");
}

/** Istio's string matcher: `*` any non-empty, `*x` suffix, `x*` prefix, else exact (prefix prepended to prefix/exact forms). */
export function stringMatcher(v: string, prefix = ""): JsonObject {
  if (v === "*") return ANY_REGEX;
  if (v.startsWith("*")) return { suffix: v.slice(1) };
  if (v.endsWith("*")) return { prefix: prefix + v.slice(0, -1) };
  return { exact: prefix + v };
}

/** `10.0.0.0/8` or `10.1.2.3` → Envoy CidrRange. */
export function cidr(v: string): JsonObject {
  const [addr, len, extra] = v.split("/");
  const family = isIP(addr ?? "");
  if (!family || extra !== undefined) throw new ValueError(`${JSON.stringify(v)} is not an IP address or CIDR block`);
  const max = family === 4 ? 32 : 128;
  const n = len === undefined ? max : /^\d+$/.test(len) ? Number(len) : NaN;
  if (!Number.isInteger(n) || n > max) throw new ValueError(`${JSON.stringify(v)}: prefix length must be 0-${max}`);
  return { address_prefix: addr, prefix_len: n };
}

export function port(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) > 65535) throw new ValueError(`port ${JSON.stringify(v)} must be a number in 0-65535`);
  return Number(v);
}

/** Istio's HeaderMatcher: `*` present, `*x` suffix, `x*` prefix, else exact. */
export function headerMatcher(name: string, v: string): JsonObject {
  if (v === "*") return { name, present_match: true };
  if (v.startsWith("*")) return { name, suffix_match: v.slice(1) };
  if (v.endsWith("*")) return { name, prefix_match: v.slice(0, -1) };
  return { name, exact_match: v };
}

/**
 * `hosts`: the :authority, case-insensitively, with or without a port and a
 * trailing dot (the same host; a DENY must not be bypassed by `Host: A.com.:80`).
 */
export function hostMatcher(v: string): JsonObject {
  if (v === "*") return { name: ":authority", present_match: true };
  const tail = "\\.?(:[0-9]+)?";
  let body: string;
  if (v.startsWith("*")) body = `.*${escapeRegex(v.slice(1).replace(/\.$/, ""))}`;
  else if (v.endsWith("*")) return { name: ":authority", string_match: { safe_regex: { regex: `(?i)${escapeRegex(v.slice(0, -1))}.*` } } };
  else body = escapeRegex(v.replace(/\.$/, ""));
  return { name: ":authority", string_match: { safe_regex: { regex: `(?i)${body}${tail}` } } };
}

/** `paths`: exact, `/p*` prefix, `*.x` suffix, `*` any non-empty path (Istio's PathMatcher). */
export function pathMatcher(v: string): JsonObject {
  if (v.includes("{")) throw new ValueError(`path template ${JSON.stringify(v)} is not supported`);
  return { path: stringMatcher(v) };
}

/** `[a][b]` → ["a", "b"] (request.auth.claims[...] / request.headers[...]). */
export function bracketNames(rest: string, nested: boolean): string[] {
  const m = nested ? rest.match(/^(\[[^[\]]+\])+$/) : rest.match(/^\[[^[\]]+\]$/);
  if (!m) throw new ValueError(`expected ${nested ? "[claim] or [claim][nested]" : "[name]"} after the attribute, got ${JSON.stringify(rest)}`);
  return [...rest.matchAll(/\[([^[\]]+)\]/g)].map((x) => x[1]!);
}

/** The source principal `value` in every trust domain the mesh accepts (istiod's trust domain alias migration). */
export function principalVariants(value: string, trustDomains: readonly string[]): string[] {
  if (value === "*" || value.startsWith("*")) return [value];
  const slash = value.indexOf("/");
  const td = slash > 0 ? value.slice(0, slash) : "";
  if (!trustDomains.includes(td)) return [value];
  return trustDomains.map((d) => d + value.slice(slash));
}

export function authenticated(m: JsonObject): JsonObject {
  return { authenticated: { principal_name: m } };
}

export const NEVER_PRINCIPAL: JsonObject = { not_id: { any: true } };

export function jwtMetadata(issuer: string, path: readonly string[], value: JsonObject): JsonObject {
  return { metadata: { filter: JWT_FILTER, path: [issuer, ...path].map((key) => ({ key })), value } };
}

/** A claim that may be a string or a list of strings (aud, groups…). */
export function claimValue(m: JsonObject): JsonObject {
  return { or_match: { value_matchers: [{ string_match: m }, { list_match: { one_of: { string_match: m } } }] } };
}

function issuerMatches(pattern: JsonObject, issuer: string): boolean {
  if ("exact" in pattern) return issuer === pattern.exact;
  if ("prefix" in pattern) return issuer.startsWith(String(pattern.prefix));
  if ("suffix" in pattern) return issuer.endsWith(String(pattern.suffix));
  return issuer.length > 0;
}

/**
 * A request principal `iss/sub` (either side may use `*`): the sub claim of a
 * token verified for each configured issuer the pattern matches; none → never.
 */
export function requestPrincipal(v: string, issuers: readonly string[]): JsonObject {
  const idx = v.lastIndexOf("/");
  const found = idx >= 0;
  const iss = found ? v.slice(0, idx) : v;
  const sub = found ? v.slice(idx + 1) : "";
  let issM: JsonObject;
  let subM: JsonObject;
  if (v === "*") [issM, subM] = [ANY_REGEX, ANY_REGEX];
  else if (v.startsWith("*")) {
    if (found) [issM, subM] = [iss === "*" ? ANY_REGEX : { suffix: iss.slice(1) }, { exact: sub }];
    else [issM, subM] = [ANY_REGEX, { suffix: v.slice(1) }];
  } else if (v.endsWith("*")) {
    if (found) [issM, subM] = [{ exact: iss }, sub === "*" ? ANY_REGEX : { prefix: sub.slice(0, -1) }];
    else [issM, subM] = [{ prefix: v.slice(0, -1) }, ANY_REGEX];
  } else {
    if (!found) throw new ValueError(`request principal ${JSON.stringify(v)} must be <issuer>/<subject>`);
    [issM, subM] = [{ exact: iss }, { exact: sub }];
  }
  const ids = issuers.filter((i) => issuerMatches(issM, i)).map((i) => jwtMetadata(i, ["sub"], { string_match: subM }));
  if (ids.length === 0) return NEVER_PRINCIPAL;
  return ids.length === 1 ? ids[0]! : { or_ids: { ids } };
}

/** A claim condition over every configured issuer (a token from any of them may carry it). */
export function requestClaim(path: readonly string[], v: string, issuers: readonly string[]): JsonObject {
  const ids = issuers.map((i) => jwtMetadata(i, path, claimValue(stringMatcher(v))));
  if (ids.length === 0) return NEVER_PRINCIPAL;
  return ids.length === 1 ? ids[0]! : { or_ids: { ids } };
}
