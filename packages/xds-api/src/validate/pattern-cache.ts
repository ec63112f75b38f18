import { createRequire } from "node:module";
import type { RE2 } from "re2-wasm";

// PGV patterns are RE2 syntax (Envoy compiles them with RE2), which differs
// from JS RegExp (no lookaround/backreferences, \C, (?P<name>…)…), so they are
// compiled with RE2 itself. Compiling crosses into WASM, so each distinct
// pattern is compiled once per process.
const cache = new Map<string, RE2 | Error>();

// re2-wasm (CommonJS) instantiates its WASM module when loaded: ~3-4 MB of RSS
// and a wasm compile that most processes never need (few Envoy fields carry a
// PGV `pattern`). It is required on the first pattern instead of at import.
let RE2Class: typeof RE2 | undefined;
const re2 = (): typeof RE2 => (RE2Class ??= (createRequire(import.meta.url)("re2-wasm") as { RE2: typeof RE2 }).RE2);

/** The compiled pattern, or the error RE2 gave for it. */
export function compilePattern(pattern: string): RE2 | Error {
  let compiled = cache.get(pattern);
  if (!compiled) {
    try {
      compiled = new (re2())(pattern, "u");
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
