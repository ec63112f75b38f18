import { RE2 } from "re2-wasm";

// PGV patterns are RE2 syntax (Envoy compiles them with RE2), which differs
// from JS RegExp (no lookaround/backreferences, \C, (?P<name>…)…), so they are
// compiled with RE2 itself. Compiling crosses into WASM, so each distinct
// pattern is compiled once per process.
const cache = new Map<string, RE2 | Error>();

/** The compiled pattern, or the error RE2 gave for it. */
export function compilePattern(pattern: string): RE2 | Error {
  let compiled = cache.get(pattern);
  if (!compiled) {
    try {
      compiled = new RE2(pattern, "u");
    } catch (cause) {
      compiled = new Error(`invalid RE2 pattern ${JSON.stringify(pattern)}: ${(cause as Error).message}`);
    }
    cache.set(pattern, compiled);
  }
  return compiled;
}

/** PGV `pattern` is a search, not a full match (Go's regexp.MatchString, RE2::PartialMatch). */
export function matches(re: RE2, value: string): boolean {
  re.lastIndex = 0;
  return re.test(value);
}
