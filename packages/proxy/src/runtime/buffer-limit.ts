// per_connection_buffer_limit_bytes, on listeners and clusters alike.

/** Envoy's default per_connection_buffer_limit_bytes (listeners and clusters): 1 MiB. */
export const DEFAULT_CONNECTION_BUFFER_LIMIT = 1024 * 1024;

/** The field → bytes; an explicit 0 disables the watermarks as in Envoy (Infinity: never pause). */
export function bufferLimit(v: number | undefined): number {
  if (v === undefined) return DEFAULT_CONNECTION_BUFFER_LIMIT;
  return v === 0 ? Number.POSITIVE_INFINITY : v;
}
