import { pino, type Logger } from "pino";

/** pilot-agent's --log_output_level is `scope:level,...`; we honour the `default` scope (or a bare level). */
export function levelFromFlag(flag: string | undefined, fallback = "warn"): string {
  if (!flag) return fallback;
  const entries = flag.split(",").map((e) => e.split(":"));
  const chosen = entries.find(([scope, lvl]) => lvl !== undefined && scope === "default")?.[1] ?? entries.find(([, lvl]) => lvl === undefined)?.[0];
  const level = (chosen ?? fallback).trim();
  const map: Record<string, string> = { none: "silent", warning: "warn" };
  return map[level] ?? level;
}

/** Logs go to stderr so that `weft-agent bootstrap` and `--dry-run` keep stdout clean. */
export function createCliLogger(level: string): Logger {
  return pino({ level, base: { component: "weft-agent" } }, pino.destination(2));
}
