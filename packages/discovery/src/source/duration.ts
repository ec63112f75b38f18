// Istio's API takes google.protobuf.Duration in its JSON form ("5s", "0.5s")
// and, through the CRD's Go parser, Go durations ("100ms", "1m30s"). We accept
// both and keep milliseconds, which is the precision Envoy's routing uses.

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, "µs": 0.001, ns: 0.000001 };
const PART = /(\d+(?:\.\d*)?|\.\d+)(h|ms|m|s|us|µs|ns)/y;

/** Milliseconds, or an Error naming the bad value. Negative durations are rejected (istiod's ValidateDuration). */
export function parseDurationMs(value: unknown): number {
  if (typeof value === "number") throw new Error(`duration ${value} must be a string with a unit, e.g. "5s" or "100ms"`);
  if (typeof value !== "string" || value.trim() === "") throw new Error(`duration ${JSON.stringify(value)} must be a string like "5s" or "100ms"`);
  const text = value.trim();
  if (text.startsWith("-")) throw new Error(`duration ${JSON.stringify(value)} is negative; durations must be >= 0`);
  let pos = 0;
  let total = 0;
  const body = text.startsWith("+") ? text.slice(1) : text;
  if (body === "0") return 0;
  PART.lastIndex = 0;
  while (pos < body.length) {
    PART.lastIndex = pos;
    const m = PART.exec(body);
    if (!m) throw new Error(`duration ${JSON.stringify(value)} does not parse; use a number with a unit (h, m, s, ms), e.g. "5s" or "100ms"`);
    total += Number(m[1]) * UNIT_MS[m[2]];
    pos = PART.lastIndex;
  }
  return total;
}

/** Envoy JSON for a Duration ("1.500s"), from milliseconds. */
export function durationJson(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const rest = Math.round((ms - seconds * 1000) * 1_000_000);
  if (rest === 0) return `${seconds}s`;
  return `${seconds}.${String(rest).padStart(9, "0").replace(/0+$/, "")}s`;
}
