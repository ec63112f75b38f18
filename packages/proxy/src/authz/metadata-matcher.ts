// envoy.type.matcher.v3.MetadataMatcher / ValueMatcher / FilterStateMatcher
// compiled into predicates over the request's dynamic metadata (plain JS
// values: what our filters write, e.g. jwt_authn's payload) and filter state.
import type { MetadataMatcher } from "@weft/xds-api/gen/envoy/type/matcher/v3/metadata_pb.js";
import type { ValueMatcher } from "@weft/xds-api/gen/envoy/type/matcher/v3/value_pb.js";
import type { FilterStateMatcher } from "@weft/xds-api/gen/envoy/type/matcher/v3/filter_state_pb.js";
import { ResourceRejectedError } from "../contracts.js";
import { compileStringMatcher } from "../runtime/string-matcher.js";
import { filterStateValue, metadataOf, type AuthzMatch } from "./authz-input.js";

type ValuePredicate = (v: unknown) => boolean;

export function compileValueMatcher(m: ValueMatcher | undefined, res: string, field: string): ValuePredicate {
  if (!m) throw new ResourceRejectedError(res, field, "value matcher is required");
  const p = m.matchPattern;
  switch (p.case) {
    case "nullMatch":
      // Envoy: matches a value that is present and null.
      return (v) => v === null;
    case "doubleMatch": {
      const d = p.value.matchPattern;
      if (d.case === "exact") {
        const want = d.value;
        return (v) => typeof v === "number" && v === want;
      }
      if (d.case === "range") {
        const { start, end } = d.value;
        if (start > end) throw new ResourceRejectedError(res, `${field}.double_match.range`, "start must not exceed end");
        return (v) => typeof v === "number" && v >= start && v < end;
      }
      throw new ResourceRejectedError(res, `${field}.double_match`, "exact or range is required");
    }
    case "stringMatch": {
      const s = compileStringMatcher(p.value, res, `${field}.string_match`);
      return (v) => typeof v === "string" && s(v);
    }
    case "boolMatch": {
      const want = p.value;
      return (v) => v === want;
    }
    case "presentMatch": {
      // present_match: true matches any present value; false is documented to match nothing.
      const want = p.value;
      return (v) => want && v !== undefined;
    }
    case "listMatch": {
      const lm = p.value.matchPattern;
      if (lm.case !== "oneOf") throw new ResourceRejectedError(res, `${field}.list_match`, "one_of is required");
      const inner = compileValueMatcher(lm.value, res, `${field}.list_match.one_of`);
      return (v) => Array.isArray(v) && v.some(inner);
    }
    case "orMatch": {
      const ms = p.value.valueMatchers.map((x, i) => compileValueMatcher(x, res, `${field}.or_match.value_matchers[${i}]`));
      if (ms.length < 2) throw new ResourceRejectedError(res, `${field}.or_match.value_matchers`, "needs at least 2 matchers");
      return (v) => ms.some((f) => f(v));
    }
    default:
      throw new ResourceRejectedError(res, field, `unsupported value matcher ${String(p.case)}`);
  }
}

function walk(root: Record<string, unknown> | undefined, keys: readonly string[]): unknown {
  let cur: unknown = root;
  for (const k of keys) {
    if (cur === null || typeof cur !== "object" || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

export function compileMetadataMatcher(m: MetadataMatcher, res: string, field: string): AuthzMatch {
  if (!m.filter) throw new ResourceRejectedError(res, `${field}.filter`, "must not be empty");
  if (m.path.length === 0) throw new ResourceRejectedError(res, `${field}.path`, "must have at least one segment");
  const keys = m.path.map((s, i) => {
    if (s.segment.case !== "key" || !s.segment.value) throw new ResourceRejectedError(res, `${field}.path[${i}].key`, "must not be empty");
    return s.segment.value;
  });
  const test = compileValueMatcher(m.value, res, `${field}.value`);
  const filter = m.filter;
  const invert = m.invert;
  return (_conn, req) => {
    const v = walk(metadataOf(req, filter), keys);
    // A missing value never matches; invert flips the result including the missing case (Envoy's MetadataMatcher).
    const hit = v !== undefined && test(v);
    return hit !== invert;
  };
}

export function compileFilterStateMatcher(m: FilterStateMatcher, res: string, field: string): AuthzMatch {
  if (!m.key) throw new ResourceRejectedError(res, `${field}.key`, "must not be empty");
  const key = m.key;
  if (m.matcher.case !== "stringMatch") throw new ResourceRejectedError(res, `${field}.matcher`, `${String(m.matcher.case ?? "no matcher")} is not supported (string_match is)`);
  const s = compileStringMatcher(m.matcher.value, res, `${field}.string_match`);
  return (conn, req) => {
    const v = filterStateValue(conn, req, key);
    // Envoy matches the object's serialized string form; ours are strings already.
    return typeof v === "string" && s(v);
  };
}
