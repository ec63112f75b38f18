// Once a proxy is LIVE, the pages of Node's own binary that only starting it
// touched leave the process's RSS (native/startup_pages.c says how and why it
// is safe). Starting Node pages in ~40 MB of its executable (V8's snapshot,
// symbol tables, the module loader and compiler, ICU); a running sidecar
// touches ~20 MB of it again, and the rest would be counted in every
// sidecar's RSS for its whole life. The kernel keeps those pages in its page
// cache, shared by every Node process on the host, and maps back any page
// that is used again. bench/RESULTS.md (session 11) has the measurements.
import type { Logger } from "pino";
import { socketAddon, socketAddonUnavailableReason } from "../native/socket-addon.js";

/** WEFT_KEEP_STARTUP_PAGES=1 turns the release off (to measure it, or to rule it out). */
export function startupPagesReleaseWanted(env: Record<string, string | undefined> = process.env): boolean {
  return env.WEFT_KEEP_STARTUP_PAGES !== "1";
}

/** Releases them and logs what it did (info), or why it could not (debug: the proxy works the same). */
export function releaseStartupPages(log: Logger): void {
  const addon = socketAddon();
  if (!addon) {
    log.debug({ reason: socketAddonUnavailableReason() }, "Node's startup pages stay resident: no socket addon");
    return;
  }
  try {
    const { mappings, residentBytes } = addon.releaseStartupPages();
    log.info({ mappings, residentMb: Math.round(residentBytes / 104857.6) / 10 }, "released Node's startup-only pages from RSS");
  } catch (err) {
    log.debug({ reason: (err as Error).message }, "Node's startup pages stay resident");
  }
}
