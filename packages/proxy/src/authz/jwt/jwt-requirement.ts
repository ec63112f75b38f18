// jwt_authn requirements (JwtRequirement) compiled into a tree evaluated per
// request with Envoy's combination rules: provider_name needs a valid token
// of that provider; requires_any passes if one child passes, and otherwise
// reports the most telling failure (a real error over "issuer not
// configured" over "missing"); requires_all needs every child;
// allow_missing passes only when no token is present anywhere;
// allow_missing_or_failed always passes (valid tokens still produce output).
import type { JwtRequirement } from "@weft/xds-api/gen/envoy/extensions/filters/http/jwt_authn/v3/config_pb.js";
import { ResourceRejectedError } from "../../contracts.js";
import type { RequestContext } from "../../http/request-context.js";
import type { ParsedJwt } from "./jwt-verify.js";
import { JwtStatus, type JwtStatusText } from "./jwt-status.js";
import { extractAt, locationKey, type CompiledProvider, type TokenLocation } from "./jwt-provider.js";

export type Outcome = JwtStatusText | "ok";

/** Per-request state: each (provider, token) is verified at most once. */
export interface RequestState {
  ctx: RequestContext;
  nowSec: number;
  tokens: Map<string, string | undefined>;
  results: Map<string, Promise<Outcome>>;
  verified: Array<{ provider: CompiledProvider; jwt: ParsedJwt; from: TokenLocation }>;
}

export type RequirementNode = (s: RequestState) => Promise<Outcome>;

export function newRequestState(ctx: RequestContext): RequestState {
  return { ctx, nowSec: Math.floor(Date.now() / 1000), tokens: new Map(), results: new Map(), verified: [] };
}

function tokenAt(s: RequestState, l: TokenLocation): string | undefined {
  const k = locationKey(l);
  if (!s.tokens.has(k)) s.tokens.set(k, extractAt(s.ctx, l));
  return s.tokens.get(k);
}

/** Verifies every token found in the provider's locations; missing when there is none. */
function checkProvider(p: CompiledProvider, audiences: readonly string[] | undefined, s: RequestState): Promise<Outcome> {
  const memo = `${p.name}|${audiences?.join(",") ?? ""}`;
  let r = s.results.get(memo);
  if (!r) {
    r = (async (): Promise<Outcome> => {
      let found = false;
      for (const l of p.locations) {
        const t = tokenAt(s, l);
        if (t === undefined) continue;
        found = true;
        const v = await p.verify(t, s.nowSec, audiences);
        if (v.status !== "ok") return v.status;
        s.verified.push({ provider: p, jwt: v.jwt!, from: l });
      }
      return found ? "ok" : JwtStatus.Missed;
    })();
    s.results.set(memo, r);
  }
  return r;
}

const RANK = (o: Outcome): number => (o === JwtStatus.Missed ? 0 : o === JwtStatus.UnknownIssuer ? 1 : 2);

export function compileRequirement(
  req: JwtRequirement,
  providers: ReadonlyMap<string, CompiledProvider>,
  res: string,
  field: string,
): RequirementNode {
  const r = req.requiresType;
  const provider = (name: string, f: string): CompiledProvider => {
    const p = providers.get(name);
    if (!p) throw new ResourceRejectedError(res, f, `provider ${JSON.stringify(name)} is not defined in providers`);
    return p;
  };
  switch (r.case) {
    case "providerName": {
      const p = provider(r.value, `${field}.provider_name`);
      return (s) => checkProvider(p, undefined, s);
    }
    case "providerAndAudiences": {
      const p = provider(r.value.providerName, `${field}.provider_and_audiences.provider_name`);
      const auds = r.value.audiences;
      return (s) => checkProvider(p, auds.length ? auds : undefined, s);
    }
    case "requiresAny": {
      const kids = r.value.requirements.map((x, i) => compileRequirement(x, providers, res, `${field}.requires_any.requirements[${i}]`));
      if (kids.length < 2) throw new ResourceRejectedError(res, `${field}.requires_any.requirements`, "needs at least 2 requirements");
      return async (s) => {
        let worst: Outcome = JwtStatus.Missed;
        let first = true;
        for (const k of kids) {
          const o = await k(s);
          if (o === "ok") return "ok";
          if (first || RANK(o) > RANK(worst)) worst = o;
          first = false;
        }
        return worst;
      };
    }
    case "requiresAll": {
      const kids = r.value.requirements.map((x, i) => compileRequirement(x, providers, res, `${field}.requires_all.requirements[${i}]`));
      if (kids.length < 2) throw new ResourceRejectedError(res, `${field}.requires_all.requirements`, "needs at least 2 requirements");
      return async (s) => {
        for (const k of kids) {
          const o = await k(s);
          if (o !== "ok") return o;
        }
        return "ok";
      };
    }
    case "allowMissing": {
      const all = [...providers.values()];
      return async (s) => {
        for (const p of all) for (const l of p.locations) if (tokenAt(s, l) !== undefined) return JwtStatus.Missed;
        return "ok";
      };
    }
    case "allowMissingOrFailed": {
      const all = [...providers.values()];
      return async (s) => {
        for (const p of all) await checkProvider(p, undefined, s);
        return "ok";
      };
    }
    default:
      throw new ResourceRejectedError(res, field, "a requirement (provider_name, requires_any, requires_all, allow_missing…) is required");
  }
}
