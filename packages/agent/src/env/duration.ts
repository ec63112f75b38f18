import { AgentError } from "../errors.js";

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, "µs": 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a protobuf JSON Duration ("45s", "0.250s") or a Go duration ("1m30s", "500ms"),
 * as ProxyConfig fields and CLI flags such as `--timeout 60s` carry them. Returns milliseconds.
 */
export function parseDuration(value: string | number, what = "duration"): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) throw new AgentError("invalid_argument", `${what}: ${value} is not a non-negative duration`);
    return value * 1000;
  }
  const text = value.trim();
  if (text === "0") return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
  let total = 0;
  let matched = 0;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    total += Number(m[1]) * UNIT_MS[m[2]];
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== text.length) {
    throw new AgentError("invalid_argument", `${what}: "${value}" is not a duration (expected e.g. "5s", "500ms", "1m30s")`);
  }
  return total;
}

/** Formats milliseconds as a protobuf JSON duration, e.g. 45000 → "45s". */
export function formatDuration(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(3).replace(/0+$/, "")}s`;
}
