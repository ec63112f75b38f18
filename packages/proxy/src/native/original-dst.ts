// SO_ORIGINAL_DST through the small N-API addon in ../../native, built by
// `nx run proxy:build`. Loaded lazily with createRequire; when it can't load,
// callers get a reason and fall back to the local address.
import { createRequire } from "node:module";
import type { Socket } from "node:net";

interface Addon {
  originalDst(fd: number): string | null;
}

let addon: Addon | undefined;
let loadError: string | undefined;
let tried = false;

function load(): Addon | undefined {
  if (tried) return addon;
  tried = true;
  if (process.platform !== "linux") {
    loadError = `SO_ORIGINAL_DST is Linux-only (platform ${process.platform})`;
    return undefined;
  }
  try {
    // Same relative depth from src/native and dist/native.
    addon = createRequire(import.meta.url)("../../native/build/Release/original_dst.node") as Addon;
  } catch (err) {
    loadError = (err as Error).message.split("\n")[0];
  }
  return addon;
}

/** Why the addon is unavailable, or undefined when it loaded. */
export function originalDstUnavailableReason(): string | undefined {
  load();
  return addon ? undefined : loadError;
}

/**
 * The original destination `ip:port` of an accepted socket, undefined when the
 * connection was not redirected (or the addon is unavailable).
 */
export function getOriginalDst(socket: Socket): string | undefined {
  const a = load();
  if (!a) return undefined;
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== "number" || fd < 0) return undefined;
  const v = a.originalDst(fd);
  if (!v) return undefined;
  // IPv4-mapped original destinations are reported like Envoy: plain IPv4.
  return v.startsWith("[::ffff:") && v.includes(".") ? v.slice(8).replace("]", "") : v;
}
