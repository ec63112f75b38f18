import { mkdirSync, rmSync } from "node:fs";
import { dirname } from "node:path";
import { createServer, type Http2Server, type Http2Session } from "node:http2";
import type { ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { AgentError } from "../errors.js";

export interface UnixGrpcServer {
  readonly path: string;
  close(): Promise<void>;
}

/** Serves gRPC (h2c, prior knowledge, as Envoy's envoy_grpc speaks it) on a Unix socket. */
export async function listenUnixGrpc(path: string, routes: (router: ConnectRouter) => void): Promise<UnixGrpcServer> {
  if (Buffer.byteLength(path) > 107) throw new AgentError("invalid_env", `socket path ${path} is longer than the 107 bytes a Unix socket allows; set WEFT_AGENT_DIR to a shorter directory`);
  mkdirSync(dirname(path), { recursive: true });
  rmSync(path, { force: true }); // a stale socket from a previous run
  const handler = connectNodeAdapter({ routes, grpc: true, grpcWeb: false, connect: false });
  const server: Http2Server = createServer(handler);
  const sessions = new Set<Http2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (e) => reject(new AgentError("invalid_env", `cannot listen on ${path}: ${e.message}`, { cause: e })));
    server.listen(path, () => resolve());
  });
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.destroy();
        server.close(() => {
          rmSync(path, { force: true });
          resolve();
        });
      }),
  };
}
