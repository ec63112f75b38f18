import type { Server } from "node:http";
import { parseArgs } from "node:util";
import { readListenConfig } from "./listen-config.js";
import { createLogger, type Logger } from "./logger.js";
import { SampleError } from "./sample-error.js";
import { exitOnSignals, listen } from "./serve.js";

export interface ServerMainSpec {
  /** Program name for logs and usage. */
  name: string;
  /** The manifest's containerPort. */
  defaultPort: number;
  /** Extra string flags this program takes (besides --port and --bind). */
  flags?: string[];
  /** Build the server from the parsed flags and the environment. */
  build(ctx: { flags: Record<string, string | undefined>; env: NodeJS.ProcessEnv; logger: Logger }): Server;
}

/**
 * Entry point shared by the sample servers: `prog [PORT] [--port N] [--bind ADDR] [flags…]`.
 * The positional port mirrors the original images (`productpage.py 9080`,
 * `node ratings.js 9080`); env PORT / BIND_ADDRESS come from the local mesh.
 * Bad arguments exit 2 with a message naming the argument.
 */
export async function runServerMain(spec: ServerMainSpec, argv = process.argv.slice(2), env = process.env): Promise<void> {
  const logger = createLogger(spec.name, env);
  try {
    const options: Record<string, { type: "string" }> = { port: { type: "string" }, bind: { type: "string" } };
    for (const f of spec.flags ?? []) options[f] = { type: "string" };
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    if (positionals.length > 1) throw new SampleError(`unexpected arguments: ${positionals.slice(1).join(" ")}`);
    const flags = values as Record<string, string | undefined>;
    const config = readListenConfig({ env, portArg: flags.port ?? positionals[0], bindArg: flags.bind, defaultPort: spec.defaultPort });
    const server = spec.build({ flags, env, logger });
    exitOnSignals(logger, server);
    const address = await listen(server, config);
    logger.info({ address: address.address, port: address.port }, `${spec.name} listening`);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`${spec.name}: ${message}\n`);
    process.exit(2);
  }
}
