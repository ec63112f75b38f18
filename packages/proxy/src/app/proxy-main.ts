// The proxy's main: validate mode, or serve (a single process, or one worker
// thread or process of a --concurrency N proxy).
import { pino } from "pino";
import { BootstrapError } from "../bootstrap/load-bootstrap.js";
import type { CommandLineOptions } from "../cli/command-line-options.js";
import { pinoLevelOf } from "../cli/command-line-options.js";
import { validateConfig } from "../cli/validate-config.js";
import { createProxyRuntime } from "../runtime/create-proxy-runtime.js";
import { createPatternDestination } from "./log-format.js";
import { startProxy } from "./start-proxy.js";
import { startupPagesReleaseWanted } from "./release-startup-pages.js";
import { isMainThread } from "node:worker_threads";
import type { WorkerRole } from "./worker-messages.js";

export async function runProxyMain(options: CommandLineOptions, worker?: WorkerRole): Promise<number> {
  if (options.mode === "validate") {
    const dest = createPatternDestination(options.logFormat ?? "[%l] %v", pino.destination({ fd: 2, sync: true }));
    const logger = pino({ level: pinoLevelOf(options.logLevel), base: undefined }, dest);
    const result = await validateConfig(options, logger);
    (result.ok ? process.stdout : process.stderr).write(result.message + "\n");
    return result.ok ? 0 : 1;
  }
  try {
    // Worker 0 on the primary's own thread hears the primary's signals through its channel only.
    // One release per process: thread workers share their process's pages with the main thread.
    const releasePages = isMainThread && startupPagesReleaseWanted();
    const proxy = await startProxy(options, { createRuntime: createProxyRuntime, handleSignals: worker?.port === undefined, worker, releaseStartupPages: releasePages });
    return await proxy.exited;
  } catch (err) {
    const name = options.configPath ?? "--config-yaml";
    const why = err instanceof BootstrapError ? err.message : (err as Error).stack ?? String(err);
    process.stderr.write(`error initializing configuration '${name}': ${why}\n`);
    return 1;
  }
}
