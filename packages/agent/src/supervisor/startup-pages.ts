// The agent, like the proxy, drops the pages of Node's executable that only
// its start touched from its RSS once the sidecar is ready (see @weft/proxy's
// README, "Startup-only pages", and native/startup_pages.c there). The call
// lives in the proxy's native addon; the agent may not import @weft/proxy
// (module boundaries), so it loads that addon from the proxy package it runs,
// found as its Node flags are (proxy-node-flags.ts). With Envoy, or a proxy
// package without the addon, nothing happens and the reason is logged at debug.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { Logger } from "pino";
import { owningPackageJson } from "./proxy-node-flags.js";

interface PagesAddon {
  releaseStartupPages(): { mappings: number; residentBytes: number };
}

/** WEFT_KEEP_STARTUP_PAGES=1 keeps them (for the agent and the proxy it starts, which inherits it). */
export function startupPagesReleaseWanted(env: Record<string, string | undefined> = process.env): boolean {
  return env.WEFT_KEEP_STARTUP_PAGES !== "1";
}

/** The addon of the @weft/proxy package `proxyFile` belongs to, or why there is none. */
export function proxyPagesAddon(proxyFile: string): PagesAddon | string {
  const pkgPath = owningPackageJson(proxyFile);
  if (!pkgPath) return `${proxyFile} is not in an npm package`;
  try {
    if ((JSON.parse(readFileSync(pkgPath, "utf8")) as { name?: unknown }).name !== "@weft/proxy") return `${proxyFile} is not @weft/proxy`;
    const addonPath = join(dirname(pkgPath), "native/build/Release/weft_socket.node");
    if (!existsSync(addonPath)) return `${addonPath} is not built`;
    const addon = createRequire(import.meta.url)(addonPath) as Partial<PagesAddon>;
    return typeof addon.releaseStartupPages === "function" ? (addon as PagesAddon) : `${addonPath} has no releaseStartupPages (an older @weft/proxy)`;
  } catch (err) {
    return (err as Error).message.split("\n")[0]!;
  }
}

/** Releases this process's startup-only pages through the proxy's addon; logs what it did (info) or why not (debug). */
export function releaseStartupPages(proxyFile: string, log: Logger): void {
  const addon = proxyPagesAddon(proxyFile);
  if (typeof addon === "string") {
    log.debug({ reason: addon }, "Node's startup pages stay resident");
    return;
  }
  try {
    const { mappings, residentBytes } = addon.releaseStartupPages();
    log.info({ mappings, residentMb: Math.round(residentBytes / 104857.6) / 10 }, "released Node's startup-only pages from RSS");
  } catch (err) {
    log.debug({ reason: (err as Error).message }, "Node's startup pages stay resident");
  }
}
