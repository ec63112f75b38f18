#!/usr/bin/env node
// weft-discovery: the control plane binary. Reads a directory of Kubernetes
// and Istio YAML, serves xDS over ADS, /ready and /debug on --http-addr, and
// Prometheus /metrics on --monitoring-addr. SIGTERM/SIGINT close gracefully.
import pino from "pino";
import { createDiscoveryApp } from "../app/discovery-app.js";
import { createXdsGenerators } from "../generators/create-generators.js";
import { parseProxy } from "../push-context/parse-proxy.js";
import { createPushContextBuilder } from "../push-context/push-context.js";
import { createDirectorySource } from "../source/directory-source.js";
import { startMeshCa, type MeshCa } from "../ca/start-mesh-ca.js";
import { USAGE, UsageError, parseFlags, type DiscoveryFlags } from "./parse-flags.js";
import { readMeshConfig } from "./mesh-config.js";

async function main(argv: string[]): Promise<number> {
  let flags: DiscoveryFlags | undefined;
  let mesh: ReturnType<typeof readMeshConfig> = {};
  try {
    flags = parseFlags(argv, process.env);
    if (flags?.meshConfig) mesh = readMeshConfig(flags.meshConfig);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`weft-discovery: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (!flags) {
    process.stdout.write(USAGE);
    return 0;
  }
  const logger = pino({ level: flags.logLevel, base: { component: "weft-discovery" } }, pino.destination(2));
  const app = createDiscoveryApp({
    source: createDirectorySource({ dir: flags.configDir, logger: logger.child({ component: "source" }), domain: flags.domain }),
    pushContextBuilder: createPushContextBuilder({ domain: flags.domain, ...mesh, sidecarUseRemoteAddress: flags.sidecarUseRemoteAddress }),
    generators: createXdsGenerators({ logger: logger.child({ component: "envoy-filter" }), sdsLogger: logger.child({ component: "sds" }) }),
    parseProxy,
    logger,
    domain: flags.domain,
    grpcAddr: flags.grpcAddr,
    httpAddr: flags.httpAddr,
    monitoringAddr: flags.monitoringAddr,
    debounce: { quietMs: flags.debounceAfterMs, maxMs: flags.debounceMaxMs },
  });
  let addrs;
  try {
    addrs = await app.start();
  } catch (error) {
    logger.fatal({ err: error }, `cannot start: ${(error as Error).message}`);
    await app.close().catch(() => undefined);
    return 1;
  }
  // Mesh CA (issue 7): only with --ca-dir.
  let meshCa: MeshCa | undefined;
  if (flags.caDir) {
    try {
      // ADS is served on the CA's TLS port as well (istiod's 15012), token required.
      meshCa = await startMeshCa({ caDir: flags.caDir, caAddr: flags.caAddr, trustDomain: flags.trustDomain, domain: flags.domain, extraRoutes: (r) => app.server.routes(r), logger });
    } catch (error) {
      logger.fatal({ err: error }, `cannot start the CA: ${(error as Error).message}`);
      await app.close().catch(() => undefined);
      return 1;
    }
  }
  logger.info({ grpc: addrs.grpc, http: addrs.http, monitoring: addrs.monitoring, ca: meshCa?.server.address, configDir: flags.configDir }, "weft-discovery serving xDS");

  return new Promise<number>((resolve) => {
    let closing = false;
    const stop = (signal: NodeJS.Signals) => {
      if (closing) return;
      closing = true;
      logger.info({ signal }, "shutting down");
      Promise.all([app.close(), meshCa?.close()]).then(
        () => resolve(0),
        (error: unknown) => {
          logger.error({ err: error }, "error during shutdown");
          resolve(1);
        },
      );
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`weft-discovery: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(1);
  },
);
