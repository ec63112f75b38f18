#!/usr/bin/env node
// weft-proxy: Envoy's command line over Weft's data plane.
import { pino } from "pino";
import { createPatternDestination } from "../app/log-format.js";
import { startProxy, WEFT_PROXY_VERSION } from "../app/start-proxy.js";
import { BootstrapError } from "../bootstrap/load-bootstrap.js";
import { CommandLineError } from "../cli/command-line-options.js";
import { parseCommandLine, USAGE } from "../cli/parse-command-line.js";
import { validateConfig } from "../cli/validate-config.js";
import { pinoLevelOf } from "../cli/command-line-options.js";
import { createProxyRuntime } from "../runtime/create-proxy-runtime.js";

async function main(argv: string[]): Promise<number> {
  let options;
  try {
    options = parseCommandLine(argv);
  } catch (err) {
    if (err instanceof CommandLineError) {
      process.stderr.write(`weft-proxy: ${err.message}\n${USAGE}\n`);
      return 1;
    }
    throw err;
  }
  if (options.printHelp) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  if (options.printVersion) {
    process.stdout.write(`weft-proxy version: ${WEFT_PROXY_VERSION}\n`);
    return 0;
  }
  if (options.mode === "validate") {
    const dest = createPatternDestination(options.logFormat ?? "[%l] %v", pino.destination({ fd: 2, sync: true }));
    const logger = pino({ level: pinoLevelOf(options.logLevel), base: undefined }, dest);
    const result = await validateConfig(options, logger);
    (result.ok ? process.stdout : process.stderr).write(result.message + "\n");
    return result.ok ? 0 : 1;
  }
  try {
    const proxy = await startProxy(options, { createRuntime: createProxyRuntime, handleSignals: true });
    return await proxy.exited;
  } catch (err) {
    const name = options.configPath ?? "--config-yaml";
    const why = err instanceof BootstrapError ? err.message : (err as Error).stack ?? String(err);
    process.stderr.write(`error initializing configuration '${name}': ${why}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // Let buffered stdout/stderr drain before exiting.
    process.exitCode = code;
    setTimeout(() => process.exit(code), 50).unref();
  },
  (err: unknown) => {
    process.stderr.write(`weft-proxy: fatal: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
