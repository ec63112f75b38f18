// One jwt_authn provider: where its tokens are (from_headers with
// value_prefix, from_params, from_cookies; Envoy's default is
// `Authorization: Bearer` and `?access_token=`), how one is verified (issuer,
// exp/nbf with clock skew, audiences, subjects, signature against the JWKS),
// and what a verified one produces (token removal unless `forward`,
// forward_payload_header, claim_to_headers, payload/header in metadata).
import type { JwtProvider } from "@weft/xds-api/gen/envoy/extensions/filters/http/jwt_authn/v3/config_pb.js";
import { ResourceRejectedError } from "../../contracts.js";
import type { FilterRuntimeDeps } from "../../http/http-filter.js";
import type { RequestContext } from "../../http/request-context.js";
import { parseQuery } from "../../router/route-match.js";
import { compileStringMatcher, type StringPredicate } from "../../runtime/string-matcher.js";
import { setMetadata } from "../authz-input.js";
import { compileJwksSource, type JwksFetchStats, type JwksSource } from "./jwks-source.js";
import { checkTime, parseJwt, verifySignature, type ParsedJwt } from "./jwt-verify.js";
import { JwtStatus, type JwtStatusText } from "./jwt-status.js";
import { utf8WireString } from "../../http/wire-string.js";

export const JWT_AUTHN_METADATA = "envoy.filters.http.jwt_authn";

export type TokenLocation = { kind: "header"; name: string; prefix: string } | { kind: "param"; name: string } | { kind: "cookie"; name: string };

export interface VerifyResult {
  status: JwtStatusText | "ok";
  jwt?: ParsedJwt;
}

export interface CompiledProvider {
  readonly name: string;
  readonly issuer: string;
  readonly locations: readonly TokenLocation[];
  verify(token: string, nowSec: number, audiences?: readonly string[]): Promise<VerifyResult>;
  /** Applies a verified token's outputs to the request. */
  apply(ctx: RequestContext, jwt: ParsedJwt, from: TokenLocation): void;
}

const DEFAULT_LOCATIONS: TokenLocation[] = [
  { kind: "header", name: "authorization", prefix: "Bearer " },
  { kind: "param", name: "access_token" },
];

export function locationKey(l: TokenLocation): string {
  return l.kind === "header" ? `h:${l.name}:${l.prefix}` : `${l.kind[0]}:${l.name}`;
}

/** The token at a location, if any (Envoy: after value_prefix, up to the next ',' or whitespace). */
export function extractAt(ctx: RequestContext, l: TokenLocation): string | undefined {
  if (l.kind === "header") {
    const raw = ctx.headers[l.name];
    const v = Array.isArray(raw) ? raw[0] : raw;
    if (v === undefined) return undefined;
    let rest = v;
    if (l.prefix) {
      const at = v.toLowerCase().indexOf(l.prefix.toLowerCase());
      if (at < 0) return undefined;
      rest = v.slice(at + l.prefix.length);
    }
    const t = rest.trim().split(/[\s,]/, 1)[0];
    return t ? t : undefined;
  }
  if (l.kind === "param") {
    if (!ctx.path.includes("?")) return undefined;
    return parseQuery(ctx.path).get(l.name) || undefined;
  }
  const cookie = ctx.headers["cookie"];
  const c = Array.isArray(cookie) ? cookie.join("; ") : cookie;
  if (!c) return undefined;
  for (const part of c.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === l.name) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

function claimAt(payload: Record<string, unknown>, path: string): unknown {
  let cur: unknown = payload;
  for (const k of path.split(".")) {
    if (cur === null || typeof cur !== "object" || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

function claimHeaderValue(v: unknown): string | undefined {
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v.join(",");
  return undefined;
}

export function compileProvider(
  name: string,
  p: JwtProvider,
  res: string,
  field: string,
  runtime: FilterRuntimeDeps | undefined,
  report: (f: string, d?: string) => void,
  fetchStats?: JwksFetchStats,
): CompiledProvider {
  const jwks: JwksSource = compileJwksSource(p, res, field, runtime, report, fetchStats);
  const locations: TokenLocation[] = [];
  p.fromHeaders.forEach((h, i) => {
    if (!h.name) throw new ResourceRejectedError(res, `${field}.from_headers[${i}].name`, "must not be empty");
    locations.push({ kind: "header", name: h.name.toLowerCase(), prefix: h.valuePrefix });
  });
  for (const q of p.fromParams) locations.push({ kind: "param", name: q });
  for (const c of p.fromCookies) locations.push({ kind: "cookie", name: c });
  const locs = locations.length ? locations : DEFAULT_LOCATIONS;
  const subject: StringPredicate | undefined = p.subjects ? compileStringMatcher(p.subjects, res, `${field}.subjects`) : undefined;
  const maxLifetimeSec = p.maxLifetime ? Number(p.maxLifetime.seconds) : undefined;
  const skew = p.clockSkewSeconds || 60;
  if (p.normalizePayloadInMetadata) report("jwt_authn.normalize_payload_in_metadata", "not implemented; payloads are stored as received");
  if (p.jwtCacheConfig) report("jwt_authn.jwt_cache_config", "not implemented (tokens are verified every time)");
  const issuer = p.issuer;
  const claimHeaders = p.claimToHeaders.map((c, i) => {
    if (!c.headerName || !c.claimName) throw new ResourceRejectedError(res, `${field}.claim_to_headers[${i}]`, "header_name and claim_name are required");
    return { header: c.headerName.toLowerCase(), claim: c.claimName };
  });
  const forwardPayload = p.forwardPayloadHeader.toLowerCase();
  return {
    name,
    issuer,
    locations: locs,
    async verify(token, nowSec, audiencesOverride) {
      const jwt = parseJwt(token);
      if (typeof jwt === "string") return { status: jwt };
      if (issuer && jwt.iss !== issuer) return { status: JwtStatus.UnknownIssuer };
      const t = checkTime(jwt, nowSec, skew, p.requireExpiration);
      if (t) return { status: t };
      if (maxLifetimeSec !== undefined && maxLifetimeSec > 0) {
        if (jwt.iat === undefined || jwt.exp === undefined || jwt.exp - jwt.iat > maxLifetimeSec) return { status: JwtStatus.LifetimeTooLong };
      }
      const auds = audiencesOverride ?? p.audiences;
      if (auds.length > 0 && !jwt.aud.some((a) => auds.includes(a))) return { status: JwtStatus.AudienceNotAllowed };
      if (subject && !subject(jwt.sub ?? "")) return { status: JwtStatus.SubjectNotAllowed };
      const keys = await jwks.keys();
      if (!keys) return { status: JwtStatus.JwksFetchFail };
      const sig = verifySignature(jwt, keys);
      if (sig) return { status: sig };
      return { status: "ok", jwt };
    },
    apply(ctx, jwt, from) {
      if (!p.forward && from.kind === "header") delete ctx.headers[from.name];
      if (forwardPayload) {
        let b = jwt.payloadB64;
        if (p.padForwardPayloadHeader) b = b.padEnd(b.length + ((4 - (b.length % 4)) % 4), "=");
        ctx.headers[forwardPayload] = b;
      }
      for (const c of claimHeaders) {
        const v = claimHeaderValue(claimAt(jwt.payload, c.claim));
        // A claim is text; a header value is bytes, one per character: send its UTF-8, as Envoy does.
        if (v !== undefined) ctx.headers[c.header] = utf8WireString(v);
      }
      if (p.payloadInMetadata) setMetadata(ctx, JWT_AUTHN_METADATA, { [p.payloadInMetadata]: jwt.payload });
      if (p.headerInMetadata) setMetadata(ctx, JWT_AUTHN_METADATA, { [p.headerInMetadata]: jwt.header });
    },
  };
}
