// Weft's small N-API socket addon (../../native), built by `nx run proxy:build`.
// Loaded lazily with createRequire, once per thread; when it can't load (not
// Linux, not built), callers get the reason and fall back.
import { createRequire } from "node:module";

export interface SocketAddon {
  /** SO_ORIGINAL_DST of an accepted socket: "ip:port" ("[ip]:port" for IPv6), null without a NAT entry. */
  originalDst(fd: number): string | null;
  /** A listening TCP socket with SO_REUSEPORT, bound to ip:port; its fd. Throws with `code` (EADDRINUSE…). */
  listenReusePort(ip: string, port: number, backlog: number): number;
  /** SO_KEEPALIVE plus each of TCP_KEEPIDLE/INTVL/CNT given above 0; the values in effect afterwards. */
  setKeepAlive(fd: number, idleS: number, intervalS: number, probes: number): { idle: number; interval: number; probes: number };
  /** Node's own read-only code and data pages out of this process's RSS (native/startup_pages.c). Throws with the reason. */
  releaseStartupPages(): { mappings: number; residentBytes: number };
}

let addon: SocketAddon | undefined;
let loadError: string | undefined;
let tried = false;

/** The addon, or undefined when it is unavailable (socketAddonUnavailableReason says why). */
export function socketAddon(): SocketAddon | undefined {
  if (tried) return addon;
  tried = true;
  if (process.platform !== "linux") {
    loadError = `Weft's socket addon is Linux-only (platform ${process.platform})`;
    return undefined;
  }
  try {
    // Same relative depth from src/native, dist/native and dist/bundle.
    addon = createRequire(import.meta.url)("../../native/build/Release/weft_socket.node") as SocketAddon;
  } catch (err) {
    loadError = (err as Error).message.split("\n")[0];
  }
  return addon;
}

/** Why the addon is unavailable, or undefined when it loaded. */
export function socketAddonUnavailableReason(): string | undefined {
  socketAddon();
  return addon ? undefined : loadError;
}
