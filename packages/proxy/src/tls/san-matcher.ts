// CertificateValidationContext.match_subject_alt_names (any SAN of type DNS,
// URI, email or IP) and match_typed_subject_alt_names (a SAN of the given
// type) compiled to one predicate over a peer's SANs. An empty list means no
// SAN check, as in Envoy.
import type { StringMatcher } from "@weft/xds-api/gen/envoy/type/matcher/v3/string_pb.js";
import { SubjectAltNameMatcher_SanType, type SubjectAltNameMatcher } from "@weft/xds-api/gen/envoy/extensions/transport_sockets/tls/v3/common_pb.js";
import { ResourceRejectedError } from "../contracts.js";
import { compileStringMatcher, type StringPredicate } from "../runtime/string-matcher.js";
import type { SanEntry, SanType } from "./peer-certificate.js";

export type SanPredicate = (sans: readonly SanEntry[]) => boolean;

interface OneMatcher {
  types: ReadonlySet<SanType>;
  match: StringPredicate;
  /** DNS exact matchers accept a `*.` wildcard SAN covering one label (Envoy's dnsNameMatch). */
  dnsExact?: string;
}

const UNTYPED: ReadonlySet<SanType> = new Set<SanType>(["DNS", "URI", "EMAIL", "IP_ADDRESS"]);

const SAN_TYPE: Record<number, SanType | undefined> = {
  [SubjectAltNameMatcher_SanType.EMAIL]: "EMAIL",
  [SubjectAltNameMatcher_SanType.DNS]: "DNS",
  [SubjectAltNameMatcher_SanType.URI]: "URI",
  [SubjectAltNameMatcher_SanType.IP_ADDRESS]: "IP_ADDRESS",
  [SubjectAltNameMatcher_SanType.OTHER_NAME]: "OTHER_NAME",
};

function dnsWildcardMatch(san: string, name: string): boolean {
  if (!san.startsWith("*.")) return false;
  const dot = name.indexOf(".");
  return dot > 0 && name.slice(dot).toLowerCase() === san.slice(1).toLowerCase();
}

export function compileSanMatchers(
  untyped: readonly StringMatcher[],
  typed: readonly SubjectAltNameMatcher[],
  resource: string,
  field: string,
): SanPredicate | undefined {
  const ms: OneMatcher[] = [];
  untyped.forEach((m, i) => {
    ms.push({
      types: UNTYPED,
      match: compileStringMatcher(m, resource, `${field}.match_subject_alt_names[${i}]`),
      dnsExact: m.matchPattern.case === "exact" ? m.matchPattern.value : undefined,
    });
  });
  typed.forEach((m, i) => {
    const f = `${field}.match_typed_subject_alt_names[${i}]`;
    const t = SAN_TYPE[m.sanType];
    if (!t) throw new ResourceRejectedError(resource, `${f}.san_type`, "must be EMAIL, DNS, URI, IP_ADDRESS or OTHER_NAME");
    if (t === "OTHER_NAME") throw new ResourceRejectedError(resource, `${f}.san_type`, "OTHER_NAME matching is not implemented");
    ms.push({
      types: new Set([t]),
      match: compileStringMatcher(m.matcher, resource, `${f}.matcher`),
      dnsExact: t === "DNS" && m.matcher?.matchPattern.case === "exact" ? m.matcher.matchPattern.value : undefined,
    });
  });
  if (ms.length === 0) return undefined;
  return (sans) => {
    for (const s of sans) {
      for (const m of ms) {
        if (!m.types.has(s.type)) continue;
        if (m.match(s.value)) return true;
        if (s.type === "DNS" && m.dnsExact !== undefined && dnsWildcardMatch(s.value, m.dnsExact)) return true;
      }
    }
    return false;
  };
}
