// Rendering of values, bounds and paths in issue messages.

const MAX_SHOWN = 80;

/** A value as it appears after ", got": strings quoted and clipped, numbers plain. */
export function show(value: unknown): string {
  if (typeof value === "string") {
    const clipped = value.length > MAX_SHOWN ? `${value.slice(0, MAX_SHOWN)}…` : value;
    return JSON.stringify(clipped);
  }
  if (value instanceof Uint8Array) return `${value.length} bytes`;
  if (Array.isArray(value)) return `[${value.map(show).join(", ")}]`;
  return String(value);
}

/** Nanoseconds rendered the way proto3 JSON writes a Duration: `1.5s`, `-1s`. */
export function showNanos(total: bigint): string {
  const sign = total < 0n ? "-" : "";
  const abs = total < 0n ? -total : total;
  const seconds = abs / 1_000_000_000n;
  const nanos = abs % 1_000_000_000n;
  if (nanos === 0n) return `${sign}${seconds}s`;
  const frac = nanos.toString().padStart(9, "0").replace(/0+$/, "");
  return `${sign}${seconds}.${frac}s`;
}

/** Nanoseconds since the epoch as an RFC 3339 timestamp (millisecond precision is enough for messages). */
export function showInstant(total: bigint): string {
  const ms = Number(total / 1_000_000n);
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? `${total}ns` : date.toISOString();
}

export function fieldPath(parent: string, name: string): string {
  return parent === "" ? name : `${parent}.${name}`;
}

export function indexPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}

/** Map entries: string keys quoted (`filter_metadata["istio"]`), other keys plain. */
export function keyPath(parent: string, key: string | number | bigint | boolean): string {
  return typeof key === "string" ? `${parent}[${JSON.stringify(key)}]` : `${parent}[${String(key)}]`;
}
