#!/usr/bin/env node
// Istio's tcp-echo server for the local mesh: `tcp-echo.js PORTS PREFIX` as the image's
// arguments (`"9000,9001,9002" "one"`), listening on every port in the comma list.
import type { AddressInfo, Server } from "node:net";
import { parsePort } from "../common/listen-config.js";
import { createLogger } from "../common/logger.js";
import { SampleError } from "../common/sample-error.js";
import { createTcpEchoServer } from "../tcp-echo/tcp-echo-server.js";

const logger = createLogger("tcp-echo");
try {
  const [ports, prefix, ...rest] = process.argv.slice(2);
  if (!ports || prefix === undefined || rest.length > 0) throw new SampleError('usage: tcp-echo.js PORT[,PORT…] PREFIX (e.g. "9000,9001" hello)');
  const host = process.env.BIND_ADDRESS || "0.0.0.0";
  const servers: Server[] = [];
  for (const text of ports.split(",")) {
    const server = createTcpEchoServer(prefix, logger);
    const port = parsePort(text.trim(), "PORT");
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    servers.push(server);
    logger.info({ address: host, port: (server.address() as AddressInfo).port }, "tcp-echo listening");
  }
  const stop = (): void => {
    for (const s of servers) s.close();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
} catch (err) {
  process.stderr.write(`tcp-echo: ${(err as Error).message}\n`);
  process.exit(2);
}
