// envoy.type.matcher.v3.StringMatcher / RegexMatcher compiled to plain predicates.
// Regexes use RE2 semantics (re2-wasm), anchored for Envoy's full-match rule.
import { createRequire } from "node:module";
import type { RE2 } from "re2-wasm";
import type { StringMatcher } from "@weft/xds-api/gen/envoy/type/matcher/v3/string_pb.js";
import type { RegexMatcher } from "@weft/xds-api/gen/envoy/type/matcher/v3/regex_pb.js";
import { ResourceRejectedError } from "../contracts.js";

export type StringPredicate = (value: string) => boolean;

const NON_ASCII = /[^\x00-\x7f]/;
const ASCII_UPPER = /[A-Z]+/g;

/**
 * ignore_case as Envoy applies it: ASCII letters only (absl's ASCII case folding). JavaScript's
 * toLowerCase folds Unicode too, so `ZOË` would match `zoë` here and not in Envoy, and a few characters
 * change length (`İ` → `i̇`), which moves prefix and suffix boundaries.
 */
export function asciiLowerCase(s: string): string {
  return NON_ASCII.test(s) ? s.replace(ASCII_UPPER, (m) => m.toLowerCase()) : s.toLowerCase();
}

/** RE2 full match: the whole value must match (Envoy's safe_regex semantics). */
export function compileFullRegex(regex: string, resource: string, field: string): StringPredicate {
  const re = compileRe2(`^(?:${regex})$`, "u", resource, field);
  return (v) => re.test(v);
}

// re2-wasm (CommonJS) instantiates its WASM module when loaded (~3-4 MB of RSS and a
// wasm compile at startup): required on the first regex, so a proxy whose config has
// none never pays for it.
let RE2Class: typeof RE2 | undefined;
const re2 = (): typeof RE2 => (RE2Class ??= (createRequire(import.meta.url)("re2-wasm") as { RE2: typeof RE2 }).RE2);

export function compileRe2(source: string, flags: string, resource: string, field: string): RE2 {
  try {
    return new (re2())(source, flags.includes("u") ? flags : flags + "u");
  } catch (err) {
    throw new ResourceRejectedError(resource, field, `invalid RE2 regex ${JSON.stringify(source)}: ${(err as Error).message}`);
  }
}

export function compileRegexMatcher(m: RegexMatcher | undefined, resource: string, field: string): StringPredicate {
  if (!m || !m.regex) throw new ResourceRejectedError(resource, field + ".regex", "regex is required");
  return compileFullRegex(m.regex, resource, field + ".regex");
}

export function compileStringMatcher(m: StringMatcher | undefined, resource: string, field: string): StringPredicate {
  if (!m) throw new ResourceRejectedError(resource, field, "string matcher is required");
  const ci = m.ignoreCase;
  const p = m.matchPattern;
  switch (p.case) {
    case "exact": {
      const want = ci ? asciiLowerCase(p.value) : p.value;
      return ci ? (v) => asciiLowerCase(v) === want : (v) => v === want;
    }
    case "prefix": {
      if (!p.value) throw new ResourceRejectedError(resource, field + ".prefix", "must not be empty");
      const want = ci ? asciiLowerCase(p.value) : p.value;
      return ci ? (v) => asciiLowerCase(v).startsWith(want) : (v) => v.startsWith(want);
    }
    case "suffix": {
      if (!p.value) throw new ResourceRejectedError(resource, field + ".suffix", "must not be empty");
      const want = ci ? asciiLowerCase(p.value) : p.value;
      return ci ? (v) => asciiLowerCase(v).endsWith(want) : (v) => v.endsWith(want);
    }
    case "contains": {
      if (!p.value) throw new ResourceRejectedError(resource, field + ".contains", "must not be empty");
      const want = ci ? asciiLowerCase(p.value) : p.value;
      return ci ? (v) => asciiLowerCase(v).includes(want) : (v) => v.includes(want);
    }
    case "safeRegex":
      return compileRegexMatcher(p.value, resource, field + ".safe_regex");
    default:
      throw new ResourceRejectedError(resource, field, `unsupported match_pattern ${String(p.case)}`);
  }
}
