// Listener.filter_chain_matcher (xds.type.matcher.v3.Matcher) → a function
// from connection facts to a filter chain name. Supports the network inputs
// Istio uses (destination IP/port, server name, transport and application
// protocol, source IP/port) with exact/prefix maps, IPMatcher and
// single-predicate matcher lists.
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { StringValueSchema } from "@bufbuild/protobuf/wkt";
import type { Matcher, Matcher_OnMatch } from "@weft/xds-api/gen/xds/type/matcher/v3/matcher_pb.js";
import { IPMatcherSchema } from "@weft/xds-api/gen/xds/type/matcher/v3/ip_pb.js";
import { ResourceRejectedError } from "../contracts.js";
import { compileCidr, cidrContains, type Cidr } from "./cidr.js";
import type { ConnFacts } from "./filter-chain-match.js";
import { compileStringMatcher } from "../runtime/string-matcher.js";

export type ChainNameMatcher = (f: ConnFacts) => string | undefined;
type Input = (f: ConnFacts) => string | undefined;

const INPUT_PREFIX = "type.googleapis.com/envoy.extensions.matching.common_inputs.network.v3.";

function compileInput(cfg: { typedConfig?: { typeUrl: string } } | undefined, res: string, field: string): Input {
  const t = cfg?.typedConfig?.typeUrl ?? "";
  switch (t.startsWith(INPUT_PREFIX) ? t.slice(INPUT_PREFIX.length) : t) {
    case "DestinationIPInput":
      return (f) => f.destIp;
    case "DestinationPortInput":
      return (f) => String(f.destPort);
    case "SourceIPInput":
      return (f) => f.sourceIp;
    case "DirectSourceIPInput":
      return (f) => f.directSourceIp;
    case "SourcePortInput":
      return (f) => String(f.sourcePort);
    case "ServerNameInput":
      return (f) => f.serverName;
    case "TransportProtocolInput":
      return (f) => f.transportProtocol;
    case "ApplicationProtocolInput":
      // Envoy renders the list as comma-joined quoted names, e.g. 'h2c','http/1.1'.
      return (f) => (f.applicationProtocols.length ? f.applicationProtocols.map((p) => `'${p}'`).join(",") : undefined);
    case "SourceTypeInput":
      return (f) => (f.sourceIp === f.destIp || f.sourceIp.startsWith("127.") ? "local" : undefined);
    default:
      throw new ResourceRejectedError(res, `${field}.input`, `matcher input ${t || "(none)"} is not supported`);
  }
}

function compileOnMatch(m: Matcher_OnMatch | undefined, res: string, field: string): ChainNameMatcher | undefined {
  if (!m) return undefined;
  const o = m.onMatch;
  if (o.case === "action") {
    const any = o.value.typedConfig;
    const sv = any ? anyUnpack(any, StringValueSchema) : undefined;
    const name = sv?.value ?? o.value.name;
    return () => name;
  }
  if (o.case === "matcher") return compileChainMatcher(o.value, res, `${field}.matcher`);
  return undefined;
}

export function compileChainMatcher(m: Matcher, res: string, field: string): ChainNameMatcher {
  const noMatch = compileOnMatch(m.onNoMatch, res, `${field}.on_no_match`);
  const fallback: ChainNameMatcher = noMatch ?? (() => undefined);
  const mt = m.matcherType;
  if (mt.case === "matcherTree") {
    const tree = mt.value;
    const input = compileInput(tree.input, res, `${field}.matcher_tree`);
    const tt = tree.treeType;
    if (tt.case === "exactMatchMap" || tt.case === "prefixMatchMap") {
      const entries = Object.entries(tt.value.map).map(([k, v]) => [k, compileOnMatch(v, res, `${field}.matcher_tree.${tt.case}["${k}"]`)] as const);
      const exact = new Map(entries);
      const prefixes = [...entries].sort((a, b) => b[0].length - a[0].length);
      return (f) => {
        const v = input(f);
        if (v !== undefined) {
          if (tt.case === "exactMatchMap") {
            const r = exact.get(v)?.(f);
            if (r !== undefined) return r;
          } else {
            for (const [k, on] of prefixes) if (v.startsWith(k)) {
              const r = on?.(f);
              if (r !== undefined) return r;
            }
          }
        }
        return fallback(f);
      };
    }
    if (tt.case === "customMatch") {
      const ipm = tt.value.typedConfig ? anyUnpack(tt.value.typedConfig, IPMatcherSchema) : undefined;
      if (!ipm) throw new ResourceRejectedError(res, `${field}.matcher_tree.custom_match`, `${tt.value.typedConfig?.typeUrl ?? "?"} is not supported (only xds.type.matcher.v3.IPMatcher)`);
      const ranges: Array<{ cidrs: Cidr[]; on?: ChainNameMatcher; exclusive: boolean; best: number }> = ipm.rangeMatchers.map((r, i) => {
        const cidrs = r.ranges.map((c, j) => compileCidr(c, res, `${field}.custom_match.range_matchers[${i}].ranges[${j}]`));
        return { cidrs, on: compileOnMatch(r.onMatch, res, `${field}.custom_match.range_matchers[${i}].on_match`), exclusive: r.exclusive, best: 0 };
      });
      return (f) => {
        const ip = input(f);
        if (ip !== undefined) {
          // Longest prefix first; a non-exclusive matcher that yields nothing falls through to shorter ones.
          const hits: Array<{ len: number; on?: ChainNameMatcher; exclusive: boolean }> = [];
          for (const r of ranges) for (const c of r.cidrs) if (cidrContains(c, ip)) hits.push({ len: c.len, on: r.on, exclusive: r.exclusive });
          hits.sort((a, b) => b.len - a.len);
          for (const h of hits) {
            const v = h.on?.(f);
            if (v !== undefined) return v;
            if (h.exclusive) break;
          }
        }
        return fallback(f);
      };
    }
    throw new ResourceRejectedError(res, `${field}.matcher_tree`, "a tree type is required");
  }
  if (mt.case === "matcherList") {
    const list = mt.value.matchers.map((fm, i) => {
      const p = fm.predicate?.matchType;
      if (p?.case !== "singlePredicate" || p.value.matcher.case !== "valueMatch") {
        throw new ResourceRejectedError(res, `${field}.matcher_list.matchers[${i}].predicate`, "only single_predicate with value_match is supported");
      }
      const input = compileInput(p.value.input, res, `${field}.matcher_list.matchers[${i}].predicate.single_predicate`);
      const sm = compileStringMatcher(p.value.matcher.value as never, res, `${field}.matcher_list.matchers[${i}].predicate.single_predicate.value_match`);
      return { input, sm, on: compileOnMatch(fm.onMatch, res, `${field}.matcher_list.matchers[${i}].on_match`) };
    });
    return (f) => {
      for (const e of list) {
        const v = e.input(f);
        if (v !== undefined && e.sm(v)) {
          const r = e.on?.(f);
          if (r !== undefined) return r;
        }
      }
      return fallback(f);
    };
  }
  return fallback;
}
