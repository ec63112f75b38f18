// Methods and request header names that real clients send, as they send them
// (curl, browsers and wrk capitalize, HTTP/2-minded clients and Node's fetch
// don't). The lean head parser matches them against the bytes and hands out
// these constant strings instead of slicing a new one from the buffer per
// request; validate-request finds their lower-case form without lower-casing.

export const KNOWN_METHODS: readonly string[] = ["GET", "POST", "PUT", "HEAD", "DELETE", "OPTIONS", "PATCH"];

const LOWER_NAMES = [
  "host",
  "user-agent",
  "accept",
  "accept-encoding",
  "accept-language",
  "authorization",
  "cache-control",
  "connection",
  "content-length",
  "content-type",
  "cookie",
  "origin",
  "referer",
  "x-request-id",
  "x-forwarded-for",
  "x-forwarded-proto",
  "traceparent",
  "tracestate",
  "te",
  "grpc-timeout",
];

/** `content-type` → `Content-Type`. */
const capitalized = (name: string): string => name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());

/** Known names in both spellings → their lower-case form (a fixed set: nothing is added at run time). */
export const KNOWN_NAME_LOWER: ReadonlyMap<string, string> = new Map(LOWER_NAMES.flatMap((n) => [[n, n] as const, [capitalized(n), n] as const]));

/** Known names by length, the spellings to match bytes against. */
export const KNOWN_NAMES_BY_LENGTH: readonly (readonly string[])[] = (() => {
  const byLength: string[][] = [];
  for (const name of KNOWN_NAME_LOWER.keys()) (byLength[name.length] ??= []).push(name);
  for (let i = 0; i < byLength.length; i++) byLength[i] ??= [];
  return byLength;
})();

/**
 * The constant among `candidates` whose characters are `buf[start, end)`, if any. The bytes are
 * compared one by one: cheaper than creating a string for every request.
 */
export function matchKnown(buf: Buffer, start: number, end: number, candidates: readonly string[]): string | undefined {
  const n = end - start;
  for (let c = 0; c < candidates.length; c++) {
    const s = candidates[c];
    if (s.length !== n) continue;
    let i = 0;
    while (i < n && buf[start + i] === s.charCodeAt(i)) i++;
    if (i === n) return s;
  }
  return undefined;
}

/** A field name's lower-case form: a map lookup for the known ones, toLowerCase() for the rest. */
export function lowerName(name: string): string {
  return KNOWN_NAME_LOWER.get(name) ?? name.toLowerCase();
}
