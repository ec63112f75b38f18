// One AuthorizationPolicy rule → one Envoy RBAC policy, with istiod's
// structure (authz/model/model.go): every `from` is an and_ids of its source
// fields plus the `when` conditions on the source side, OR-ed; every `to` an
// and_rules of its operation fields plus the destination-side `when`
// conditions, OR-ed; values of one field OR-ed, notValues under not_*.
//
// Errors fail closed. In an ALLOW rule any bad value drops the whole rule
// (fewer requests allowed). In a DENY or AUDIT rule a bad value among
// `values` becomes `any` (the condition matches more), one among `notValues`
// is dropped (its exclusion stops excluding) — so the rule denies more, never
// less. HTTP-only fields on a TCP chain are "bad values" the same way, which
// is istiod's behaviour (an ALLOW rule naming paths never matches TCP; a DENY
// rule naming paths denies the whole connection).
import type { JsonObject } from "@bufbuild/protobuf";
import { isObject, type Json } from "../source/field-checker.js";
import {
  authenticated,
  bracketNames,
  cidr,
  headerMatcher,
  hostMatcher,
  pathMatcher,
  port,
  principalVariants,
  requestClaim,
  requestPrincipal,
  stringMatcher,
  ValueError,
} from "./rbac-matchers.js";

export type RbacAction = "ALLOW" | "DENY" | "LOG";

export interface RuleContext {
  action: RbacAction;
  forTCP: boolean;
  trustDomains: readonly string[];
  /** JWT issuers configured for the workload (RequestAuthentication). */
  issuers: readonly string[];
}

export interface RuleProblem {
  field: string;
  reason: string;
  /** HTTP-only field on a TCP chain: expected, not a config error. */
  httpOnly: boolean;
}

export interface CompiledRule {
  /** Undefined when the rule is dropped (ALLOW with a problem). */
  policy?: JsonObject;
  problems: RuleProblem[];
}

type Side = "principal" | "permission";
interface Field {
  side: Side;
  httpOnly: boolean;
  /** One value → one matcher (may throw ValueError). */
  build: (v: string, ctx: RuleContext) => JsonObject;
}

const principal = (build: Field["build"], httpOnly = false): Field => ({ side: "principal", httpOnly, build });
const permission = (build: Field["build"], httpOnly = false): Field => ({ side: "permission", httpOnly, build });

const SOURCE_PRINCIPAL = principal((v, ctx) => {
  const ids = principalVariants(v, ctx.trustDomains).map((p) => authenticated(stringMatcher(p, "spiffe://")));
  return ids.length === 1 ? ids[0]! : { or_ids: { ids } };
});
const SOURCE_NAMESPACE = principal((v) => authenticated({ safe_regex: { regex: `.*/ns/${v.replace(/\*/g, ".*")}/.*` } }));
const SOURCE_IP = principal((v) => ({ direct_remote_ip: cidr(v) }));
const REMOTE_IP = principal((v) => ({ remote_ip: cidr(v) }));
const REQUEST_PRINCIPAL = principal((v, ctx) => requestPrincipal(v, ctx.issuers), true);
const DEST_PORT = permission((v) => ({ destination_port: port(v) }));

/** The `when` keys istiod knows, each with its side of the policy. */
function whenField(key: string): Field {
  if (key === "source.principal") return SOURCE_PRINCIPAL;
  if (key === "source.namespace") return SOURCE_NAMESPACE;
  if (key === "source.ip") return SOURCE_IP;
  if (key === "remote.ip") return REMOTE_IP;
  if (key === "request.auth.principal") return REQUEST_PRINCIPAL;
  if (key === "request.auth.audiences") return principal((v, ctx) => requestClaim(["aud"], v, ctx.issuers), true);
  if (key === "request.auth.presenter") return principal((v, ctx) => requestClaim(["azp"], v, ctx.issuers), true);
  if (key.startsWith("request.auth.claims")) {
    const path = bracketNames(key.slice("request.auth.claims".length), true);
    return principal((v, ctx) => requestClaim(path, v, ctx.issuers), true);
  }
  if (key.startsWith("request.headers")) {
    const [name] = bracketNames(key.slice("request.headers".length), false);
    return principal((v) => ({ header: headerMatcher(name!.toLowerCase(), v) }), true);
  }
  if (key === "destination.port") return DEST_PORT;
  if (key === "destination.ip") return permission((v) => ({ destination_ip: cidr(v) }));
  if (key === "connection.sni") return permission((v) => ({ requested_server_name: stringMatcher(v) }));
  throw new ValueError(`unknown attribute ${JSON.stringify(key)}`);
}

interface Condition {
  field: Field;
  values: string[];
  notValues: string[];
  path: string;
}

const strings = (v: unknown): string[] | undefined => (v === undefined ? [] : Array.isArray(v) && v.every((x) => typeof x === "string") ? (v as string[]) : undefined);

class RuleBuilder {
  readonly problems: RuleProblem[] = [];
  dropped = false;
  constructor(private readonly ctx: RuleContext) {}

  problem(field: string, reason: string, httpOnly = false): void {
    this.problems.push({ field, reason, httpOnly });
    if (this.ctx.action === "ALLOW") this.dropped = true;
  }

  list(obj: Json, key: string, path: string): string[] {
    const v = strings(obj[key]);
    if (v === undefined) {
      this.problem(`${path}.${key}`, "must be a list of strings");
      return [];
    }
    return v;
  }

  /** One condition → its matchers (and_* members): or(values), not(or(notValues)). */
  compile(c: Condition): JsonObject[] {
    const out: JsonObject[] = [];
    const { side } = c.field;
    const [orKey, notKey, anyNode] = side === "principal" ? (["or_ids", "not_id", { any: true }] as const) : (["or_rules", "not_rule", { any: true }] as const);
    const build = (v: string, i: number, neg: boolean): JsonObject | undefined => {
      try {
        if (c.field.httpOnly && this.ctx.forTCP) throw new ValueError("applies to HTTP only; this is a TCP port", true);
        return c.field.build(v, this.ctx);
      } catch (err) {
        if (!(err instanceof ValueError)) throw err;
        this.problem(`${c.path}${neg ? "[not]" : ""}[${i}]`, err.message, err.httpOnly);
        // DENY/AUDIT: a value we cannot honour widens the rule (any) or drops an exclusion.
        return neg ? undefined : anyNode;
      }
    };
    const pos = c.values.map((v, i) => build(v, i, false)).filter((x): x is JsonObject => x !== undefined);
    if (pos.length > 0) out.push({ [orKey]: { [side === "principal" ? "ids" : "rules"]: pos } });
    const neg = c.notValues.map((v, i) => build(v, i, true)).filter((x): x is JsonObject => x !== undefined);
    if (neg.length > 0) out.push({ [notKey]: { [orKey]: { [side === "principal" ? "ids" : "rules"]: neg } } });
    return out;
  }
}

function andOf(side: Side, members: JsonObject[]): JsonObject {
  const list = members.length > 0 ? members : [{ any: true }];
  return side === "principal" ? { and_ids: { ids: list } } : { and_rules: { rules: list } };
}

/** Compile `spec.rules[index]` for one filter (HTTP or TCP, one action). */
export function compileRule(rule: unknown, path: string, ctx: RuleContext): CompiledRule {
  const b = new RuleBuilder(ctx);
  const fail = (field: string, reason: string): CompiledRule => {
    b.problem(field, reason);
    // A rule whose shape we cannot read: ALLOW drops it; DENY/AUDIT applies it to everything.
    return ctx.action === "ALLOW" ? { problems: b.problems } : { policy: { permissions: [{ any: true }], principals: [{ any: true }] }, problems: b.problems };
  };
  if (rule === null || rule === undefined) return fail(path, "a rule must be a map");
  if (!isObject(rule)) return fail(path, "a rule must be a map");
  const when: Condition[] = [];
  const whenList = rule.when === undefined ? [] : rule.when;
  if (!Array.isArray(whenList)) return fail(`${path}.when`, "must be a list");
  for (const [i, w] of whenList.entries()) {
    const wp = `${path}.when[${i}]`;
    if (!isObject(w) || typeof w.key !== "string") return fail(`${wp}.key`, "a condition needs a key");
    let field: Field;
    try {
      field = whenField(w.key);
    } catch (err) {
      return fail(`${wp}.key`, (err as Error).message);
    }
    const values = b.list(w, "values", wp);
    const notValues = b.list(w, "notValues", wp);
    if (values.length === 0 && notValues.length === 0) return fail(wp, "a condition needs values or notValues");
    when.push({ field, values, notValues, path: `${wp}.values` });
  }
  const sourceWhen = when.filter((c) => c.field.side === "principal");
  const destWhen = when.filter((c) => c.field.side === "permission");
  // Each entry must be `{source: {...}}` / `{operation: {...}}`; reading a malformed one as
  // "anything" would open an ALLOW rule, so it makes the whole rule fail (closed).
  const section = (key: "from" | "to", inner: "source" | "operation"): Json[] | string => {
    const list = rule[key] === undefined ? [] : rule[key];
    if (!Array.isArray(list)) return `${path}.${key}`;
    const out: Json[] = [];
    for (const [i, x] of list.entries()) {
      if (!isObject(x) || (x[inner] !== undefined && !isObject(x[inner]))) return `${path}.${key}[${i}].${inner}`;
      out.push(isObject(x[inner]) ? x[inner] : {});
    }
    return out;
  };
  const from = section("from", "source");
  const to = section("to", "operation");
  if (typeof from === "string") return fail(from, from.endsWith("from") ? "must be a list" : "must be a map of source fields");
  if (typeof to === "string") return fail(to, to.endsWith("to") ? "must be a list" : "must be a map of operation fields");

  const principals: JsonObject[] = [];
  for (const [i, s] of (from.length > 0 ? from : [undefined]).entries()) {
    const conds: Condition[] = [];
    if (s) {
      const sp = `${path}.from[${i}].source`;
      const add = (field: Field, pos: string, neg: string): void => {
        const values = b.list(s, pos, sp);
        const notValues = b.list(s, neg, sp);
        if (values.length > 0 || notValues.length > 0) conds.push({ field, values, notValues, path: `${sp}.${pos}` });
      };
      // istiod's order: principals, requestPrincipals, namespaces, remoteIpBlocks, ipBlocks.
      add(SOURCE_PRINCIPAL, "principals", "notPrincipals");
      add(REQUEST_PRINCIPAL, "requestPrincipals", "notRequestPrincipals");
      add(SOURCE_NAMESPACE, "namespaces", "notNamespaces");
      add(REMOTE_IP, "remoteIpBlocks", "notRemoteIpBlocks");
      add(SOURCE_IP, "ipBlocks", "notIpBlocks");
    }
    principals.push(andOf("principal", [...conds, ...sourceWhen].flatMap((c) => b.compile(c))));
  }
  const permissions: JsonObject[] = [];
  for (const [i, o] of (to.length > 0 ? to : [undefined]).entries()) {
    const conds: Condition[] = [];
    if (o) {
      const op = `${path}.to[${i}].operation`;
      const add = (field: Field, pos: string, neg: string): void => {
        const values = b.list(o, pos, op);
        const notValues = b.list(o, neg, op);
        if (values.length > 0 || notValues.length > 0) conds.push({ field, values, notValues, path: `${op}.${pos}` });
      };
      // istiod's order: hosts, methods, paths, ports.
      add(permission((v) => ({ header: hostMatcher(v) }), true), "hosts", "notHosts");
      add(permission((v) => ({ header: headerMatcher(":method", v) }), true), "methods", "notMethods");
      add(permission((v) => ({ url_path: pathMatcher(v) }), true), "paths", "notPaths");
      add(DEST_PORT, "ports", "notPorts");
    }
    permissions.push(andOf("permission", [...conds, ...destWhen].flatMap((c) => b.compile(c))));
  }
  if (b.dropped) return { problems: b.problems };
  return { policy: { permissions, principals }, problems: b.problems };
}

/** istiod's policy names: `ns[<ns>]-policy[<name>]-rule[<i>]`. */
export function rbacPolicyName(namespace: string, name: string, index: number): string {
  return `ns[${namespace}]-policy[${name}]-rule[${index}]`;
}

/** An explicit policy that never matches (an ALLOW policy without rules: deny everything). */
export const MATCH_NEVER: JsonObject = { permissions: [{ not_rule: { any: true } }], principals: [{ not_id: { any: true } }] };
