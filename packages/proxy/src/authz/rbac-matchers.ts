// envoy.config.rbac.v3.Permission / Principal → predicates, once at compile
// time. Every matcher kind we don't implement is rejected naming the field:
// an authorization rule we can't evaluate must never turn into "allow".
import type { Permission, Principal } from "@weft/xds-api/gen/envoy/config/rbac/v3/rbac_pb.js";
import type { HeaderMatcher } from "@weft/xds-api/gen/envoy/config/route/v3/route_components_pb.js";
import type { PathMatcher } from "@weft/xds-api/gen/envoy/type/matcher/v3/path_pb.js";
import type { CidrRange } from "@weft/xds-api/gen/envoy/config/core/v3/address_pb.js";
import { ResourceRejectedError } from "../contracts.js";
import { headerValue } from "../http/request-context.js";
import { wireText } from "../http/wire-string.js";
import { cidrContains, compileCidr } from "../listener/cidr.js";
import { compileRegexMatcher, compileStringMatcher, type StringPredicate } from "../runtime/string-matcher.js";
import { ipOf, portOf, type AuthzMatch } from "./authz-input.js";
import { compileFilterStateMatcher, compileMetadataMatcher } from "./metadata-matcher.js";

const ALWAYS: AuthzMatch = () => true;

function all(ms: AuthzMatch[]): AuthzMatch {
  if (ms.length === 1) return ms[0];
  return (c, r) => {
    for (const m of ms) if (!m(c, r)) return false;
    return true;
  };
}

function some(ms: AuthzMatch[]): AuthzMatch {
  if (ms.length === 1) return ms[0];
  return (c, r) => {
    for (const m of ms) if (m(c, r)) return true;
    return false;
  };
}

/**
 * Envoy's HeaderMatcher for RBAC: multiple values are joined with ",";
 * connections (network filter) have no headers, so only "absent" semantics apply.
 */
export function compileRbacHeader(h: HeaderMatcher, res: string, field: string): AuthzMatch {
  const name = h.name.toLowerCase();
  if (!name) throw new ResourceRejectedError(res, `${field}.name`, "header name is required");
  const s = h.headerMatchSpecifier;
  let test: (v: string) => boolean;
  let present: boolean | undefined;
  switch (s.case) {
    case "exactMatch": {
      const w = s.value;
      test = (v) => v === w;
      break;
    }
    case "prefixMatch": {
      const w = s.value;
      test = (v) => v.startsWith(w);
      break;
    }
    case "suffixMatch": {
      const w = s.value;
      test = (v) => v.endsWith(w);
      break;
    }
    case "containsMatch": {
      const w = s.value;
      test = (v) => v.includes(w);
      break;
    }
    case "safeRegexMatch":
      test = compileRegexMatcher(s.value, res, `${field}.safe_regex_match`);
      break;
    case "stringMatch":
      test = compileStringMatcher(s.value, res, `${field}.string_match`);
      break;
    case "presentMatch":
      present = s.value;
      test = () => true;
      break;
    case "rangeMatch": {
      const { start, end } = s.value;
      test = (v) => /^-?\d+$/.test(v) && BigInt(v) >= start && BigInt(v) < end;
      break;
    }
    case undefined:
      present = true;
      test = () => true;
      break;
    default:
      throw new ResourceRejectedError(res, field, `header match ${String((s as { case: string }).case)} is not supported`);
  }
  const invert = h.invertMatch;
  const missingEmpty = h.treatMissingHeaderAsEmpty;
  return (_c, req) => {
    let v = req ? headerValue(req, name) : undefined;
    if (v === undefined && missingEmpty) v = "";
    if (v === undefined) {
      // Envoy: an absent header matches only `present_match: false` (or an inverted present_match: true).
      if (present !== undefined) return (present === false) !== invert;
      return false;
    }
    if (present !== undefined) return present !== invert;
    // Config text is Unicode, the value wire bytes: compare text with text (http/wire-string.ts).
    return test(wireText(v)) !== invert;
  };
}

/** url_path: the path without query and fragment, as the HCM normalized it (Envoy's PathMatcher). */
export function compileUrlPath(m: PathMatcher, res: string, field: string): AuthzMatch {
  if (m.rule.case !== "path") throw new ResourceRejectedError(res, `${field}.path`, "path is required");
  const test: StringPredicate = compileStringMatcher(m.rule.value, res, `${field}.path`);
  return (_c, req) => {
    if (!req) return false;
    const p = req.path;
    let end = p.length;
    const q = p.indexOf("?");
    if (q >= 0) end = q;
    const h = p.indexOf("#");
    if (h >= 0 && h < end) end = h;
    return test(end === p.length ? p : p.slice(0, end));
  };
}

function cidrMatch(r: CidrRange, res: string, field: string, ip: (c: Parameters<AuthzMatch>[0], r: Parameters<AuthzMatch>[1]) => string): AuthzMatch {
  const cidr = compileCidr(r, res, field);
  return (c, q) => cidrContains(cidr, ip(c, q));
}

export function compilePermission(p: Permission, res: string, field: string): AuthzMatch {
  const r = p.rule;
  switch (r.case) {
    case "andRules":
      if (r.value.rules.length === 0) throw new ResourceRejectedError(res, `${field}.and_rules.rules`, "must not be empty");
      return all(r.value.rules.map((x, i) => compilePermission(x, res, `${field}.and_rules.rules[${i}]`)));
    case "orRules":
      if (r.value.rules.length === 0) throw new ResourceRejectedError(res, `${field}.or_rules.rules`, "must not be empty");
      return some(r.value.rules.map((x, i) => compilePermission(x, res, `${field}.or_rules.rules[${i}]`)));
    case "any":
      if (!r.value) throw new ResourceRejectedError(res, `${field}.any`, "must be true");
      return ALWAYS;
    case "notRule": {
      const inner = compilePermission(r.value, res, `${field}.not_rule`);
      return (c, q) => !inner(c, q);
    }
    case "header":
      return compileRbacHeader(r.value, res, `${field}.header`);
    case "urlPath":
      return compileUrlPath(r.value, res, `${field}.url_path`);
    case "destinationIp":
      return cidrMatch(r.value, res, `${field}.destination_ip`, (c) => ipOf(c.localAddress));
    case "destinationPort": {
      const port = r.value;
      return (c) => portOf(c.localAddress) === port;
    }
    case "destinationPortRange": {
      const { start, end } = r.value;
      if (start > end) throw new ResourceRejectedError(res, `${field}.destination_port_range`, "start must not exceed end");
      return (c) => {
        const port = portOf(c.localAddress);
        return port >= start && port < end;
      };
    }
    case "metadata":
      return compileMetadataMatcher(r.value, res, `${field}.metadata`);
    case "requestedServerName": {
      const s = compileStringMatcher(r.value, res, `${field}.requested_server_name`);
      return (c) => s(c.sni ?? "");
    }
    case "matcher":
      throw new ResourceRejectedError(res, `${field}.matcher`, "extension permission matchers are not implemented (fail closed)");
    case "uriTemplate":
      throw new ResourceRejectedError(res, `${field}.uri_template`, "uri_template permissions are not implemented (fail closed)");
    default:
      throw new ResourceRejectedError(res, field, unknownCase(r, "permission"));
  }
}

export function compilePrincipal(p: Principal, res: string, field: string): AuthzMatch {
  const r = p.identifier;
  switch (r.case) {
    case "andIds":
      if (r.value.ids.length === 0) throw new ResourceRejectedError(res, `${field}.and_ids.ids`, "must not be empty");
      return all(r.value.ids.map((x, i) => compilePrincipal(x, res, `${field}.and_ids.ids[${i}]`)));
    case "orIds":
      if (r.value.ids.length === 0) throw new ResourceRejectedError(res, `${field}.or_ids.ids`, "must not be empty");
      return some(r.value.ids.map((x, i) => compilePrincipal(x, res, `${field}.or_ids.ids[${i}]`)));
    case "any":
      if (!r.value) throw new ResourceRejectedError(res, `${field}.any`, "must be true");
      return ALWAYS;
    case "notId": {
      const inner = compilePrincipal(r.value, res, `${field}.not_id`);
      return (c, q) => !inner(c, q);
    }
    case "authenticated": {
      const pm = r.value.principalName;
      // No TLS: never authenticated. No principal_name: any TLS connection (Envoy).
      if (!pm) return (c) => c.tls !== undefined;
      const s = compileStringMatcher(pm, res, `${field}.authenticated.principal_name`);
      return (c) => {
        const t = c.tls;
        if (!t) return false;
        // Envoy tries the URI SANs, then the DNS SANs, then the subject.
        if (t.peerUriSan !== undefined && s(t.peerUriSan)) return true;
        for (const d of t.peerDnsSans) if (s(d)) return true;
        return s(t.peerSubject);
      };
    }
    case "sourceIp":
    case "directRemoteIp":
      return cidrMatch(r.value, res, `${field}.${r.case === "sourceIp" ? "source_ip" : "direct_remote_ip"}`, (c) => c.remoteIp);
    case "remoteIp":
      // The downstream remote address after x-forwarded-for (use_remote_address / xff_num_trusted_hops).
      return cidrMatch(r.value, res, `${field}.remote_ip`, (c, q) => (q ? ipOf(q.info.downstreamRemoteAddress) : c.remoteIp));
    case "header":
      return compileRbacHeader(r.value, res, `${field}.header`);
    case "urlPath":
      return compileUrlPath(r.value, res, `${field}.url_path`);
    case "metadata":
      return compileMetadataMatcher(r.value, res, `${field}.metadata`);
    case "filterState":
      return compileFilterStateMatcher(r.value, res, `${field}.filter_state`);
    default:
      throw new ResourceRejectedError(res, field, unknownCase(r, "principal"));
  }
}

/** Message for a oneof case this build does not know (newer Envoy API) or an empty oneof. */
function unknownCase(r: unknown, what: string): string {
  const c = (r as { case?: string }).case;
  return c ? `${what} ${c} is not implemented (fail closed)` : `a ${what} rule is required`;
}

