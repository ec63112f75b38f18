import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { ListenConfig } from "./listen-config.js";
import type { Logger } from "./logger.js";

/** Listen and resolve with the bound address (the port is real even when 0 was asked). */
export function listen(server: Server, config: ListenConfig): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once("error", onError);
    server.listen(config.port, config.host, () => {
      server.off("error", onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

/**
 * Close the server and every open connection, so a pending slow request
 * (a /delay, a productpage waiting on reviews) does not hold shutdown.
 */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * Exit 0 on SIGTERM/SIGINT after closing `server` (if any), as a container's
 * PID 1 should: the local mesh stops workloads with SIGTERM and expects them gone
 * promptly. A second signal, or one second without the close completing, exits at once.
 */
export function exitOnSignals(logger: Logger, server?: Server): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) process.exit(0);
    stopping = true;
    logger.info({ signal }, "stopping");
    setTimeout(() => process.exit(0), 1000).unref();
    if (server) void closeServer(server).then(() => process.exit(0));
    else process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
