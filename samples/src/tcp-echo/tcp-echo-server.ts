// Istio's tcp-echo sample server (samples/tcp-echo in Istio): every line a client sends comes
// back with the server's prefix in front ("hello world" for "world" when the prefix is "hello"),
// so a client can tell which version answered — Istio's TCP traffic-shifting task runs v1
// ("one") and v2 ("two") behind one Service. Plain TCP: no protocol the mesh could sniff.
import { createServer, type Server, type Socket } from "node:net";
import type { Logger } from "../common/logger.js";

/** Longest line kept waiting for its newline; a client past it is disconnected. */
const MAX_LINE_BYTES = 64 * 1024;

export function createTcpEchoServer(prefix: string, logger: Logger): Server {
  return createServer((socket: Socket) => {
    let pending = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => {
      pending += chunk;
      let newline: number;
      while ((newline = pending.indexOf("\n")) >= 0) {
        socket.write(`${prefix} ${pending.slice(0, newline + 1)}`);
        pending = pending.slice(newline + 1);
      }
      if (pending.length > MAX_LINE_BYTES) {
        logger.debug({ remote: socket.remoteAddress }, "line too long; closing");
        socket.destroy();
      }
    });
    // A last line without a newline is answered when the client half-closes, as Istio's server does on EOF.
    socket.on("end", () => (pending ? socket.end(`${prefix} ${pending}`) : socket.end()));
    socket.on("error", (err) => logger.debug({ err: err.message }, "connection error"));
  });
}
