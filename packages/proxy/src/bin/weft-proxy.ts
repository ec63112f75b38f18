#!/usr/bin/env node
// weft-proxy: Envoy's command line over Weft's data plane.
//
// --concurrency N > 1 makes this process the primary of N workers: threads
// (worker 0 on this thread, the others running this same script) or processes
// (app/run-primary.ts). A primary of processes loads none of the data path, so
// its modules are imported only once the role is known.
import { CommandLineError } from "../cli/command-line-options.js";
import { createRequire } from "node:module";
import { parseCommandLine, USAGE } from "../cli/parse-command-line.js";
import { workerRole } from "../app/worker-messages.js";
import { applyRuntimeV8Flags } from "../app/node-flags.js";

// GC tuning that must not depend on how the proxy was launched (node-flags.ts).
applyRuntimeV8Flags();

/** This is a --concurrency primary or one of its workers (see the exit below). */
let multiProcess = false;

const VERSION = (createRequire(import.meta.url)("../../package.json") as { version: string }).version;

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
    process.stdout.write(`weft-proxy version: ${VERSION}\n`);
    return 0;
  }
  const worker = workerRole();
  if (worker === undefined && options.concurrency > 1 && options.mode !== "validate") {
    const { runPrimary } = await import("../app/run-primary.js");
    multiProcess = true;
    return runPrimary(options).exited;
  }
  multiProcess = worker !== undefined;
  const { runProxyMain } = await import("../app/proxy-main.js");
  return runProxyMain(options, worker);
}

main(process.argv.slice(2)).then(
  (code) => {
    // Let buffered stdout/stderr drain before exiting. Under --concurrency the primary and
    // its workers have flushed their logs already, and every millisecond here delays the
    // proxy's exit after a drain: they go at once.
    process.exitCode = code;
    if (multiProcess) process.exit(code);
    setTimeout(() => process.exit(code), 50).unref();
  },
  (err: unknown) => {
    process.stderr.write(`weft-proxy: fatal: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
