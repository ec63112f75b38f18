import type { Logger } from "../common/logger.js";
import { exitOnSignals } from "../common/serve.js";

/**
 * The sleep sample's process: it only has to exist, so the local mesh has a pod
 * whose network `weftctl local exec sleep -- curl …` runs curl in. It holds one
 * long timer (no busy loop) and exits 0 on SIGTERM/SIGINT, unlike `sleep infinity`,
 * which dies by the signal.
 */
export function runSleep(logger: Logger): void {
  exitOnSignals(logger);
  // Re-armed so the process never runs out of work; 2^31-1 ms is setInterval's maximum.
  setInterval(() => undefined, 2 ** 31 - 1);
  logger.info("sleeping until SIGTERM");
}
