// protobuf Duration → milliseconds, resolved once at compile time.
import type { Duration } from "@bufbuild/protobuf/wkt";

/** Duration in ms; `fallback` when unset. Envoy treats 0 as "disabled" for most timeouts. */
export function durationMs(d: Duration | undefined, fallback: number): number {
  if (!d) return fallback;
  return Number(d.seconds) * 1000 + Math.floor(d.nanos / 1e6);
}
