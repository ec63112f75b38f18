// SO_ORIGINAL_DST through Weft's socket addon (socket-addon.ts); when the
// addon can't load, callers get a reason and fall back to the local address.
import type { Socket } from "node:net";
import { socketAddon, socketAddonUnavailableReason } from "./socket-addon.js";

/** Why the addon is unavailable, or undefined when it loaded. */
export function originalDstUnavailableReason(): string | undefined {
  return socketAddonUnavailableReason();
}

/**
 * The original destination `ip:port` of an accepted socket, undefined when the
 * connection was not redirected (or the addon is unavailable).
 */
export function getOriginalDst(socket: Socket): string | undefined {
  const a = socketAddon();
  if (!a) return undefined;
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== "number" || fd < 0) return undefined;
  const v = a.originalDst(fd);
  if (!v) return undefined;
  // IPv4-mapped original destinations are reported like Envoy: plain IPv4.
  return v.startsWith("[::ffff:") && v.includes(".") ? v.slice(8).replace("]", "") : v;
}
