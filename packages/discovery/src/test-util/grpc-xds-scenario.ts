// Pieces of the proxyless-gRPC scenarios: the weft-discovery binary as a
// child process, grpc-js echo servers on 127.0.0.x, and the grpc-js-xds client
// in its own process.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import * as grpc from "@grpc/grpc-js";

const SRC = fileURLToPath(new URL("..", import.meta.url));
const PKG = fileURLToPath(new URL("../..", import.meta.url));

export interface Discovery {
  grpcAddr: string;
  httpAddr: string;
  proc: ChildProcess;
  stderr: () => string;
  stop(): Promise<void>;
}

/** Starts `weft-discovery` from source and waits for its "serving" line. */
export async function startDiscovery(configDir: string, extra: string[] = []): Promise<Discovery> {
  const proc = spawn(process.execPath, ["--import", "tsx", `${SRC}bin/weft-discovery.ts`, "--config-dir", configDir, "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0", "--monitoring-addr", "127.0.0.1:0", ...extra], {
    cwd: PKG,
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  const serving = new Promise<{ grpc: string; http: string }>((resolve, reject) => {
    createInterface({ input: proc.stderr! }).on("line", (line) => {
      err += line + "\n";
      try {
        const rec = JSON.parse(line) as { msg?: string; grpc?: string; http?: string };
        if (rec.msg === "weft-discovery serving xDS") resolve({ grpc: rec.grpc!, http: rec.http! });
      } catch {
        /* not a log line */
      }
    });
    proc.once("exit", (code) => reject(new Error(`weft-discovery exited with ${code}:\n${err}`)));
  });
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`weft-discovery did not start in 60 s:\n${err}`)), 60_000).unref());
  const addrs = await Promise.race([serving, timeout]);
  return {
    grpcAddr: addrs.grpc,
    httpAddr: addrs.http,
    proc,
    stderr: () => err,
    async stop() {
      if (proc.exitCode !== null) return;
      proc.kill("SIGTERM");
      await once(proc, "exit");
    },
  };
}

export interface EchoServers {
  port: number;
  servers: grpc.Server[];
  stop(): Promise<void>;
}

/** One echo server per IP, all on the same port, each answering with its IP. */
export async function startEchoServers(ips: string[]): Promise<EchoServers> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 30000);
    const servers: grpc.Server[] = [];
    try {
      for (const ip of ips) {
        const server = new grpc.Server();
        const id = (b: Buffer) => b;
        server.addService(
          { Who: { path: "/weft.test.Echo/Who", requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id } },
          { Who: (_call: unknown, cb: grpc.sendUnaryData<Buffer>) => cb(null, Buffer.from(ip)) },
        );
        await new Promise<void>((resolve, reject) => server.bindAsync(`${ip}:${port}`, grpc.ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
        servers.push(server);
      }
      return { port, servers, stop: async () => void (await Promise.all(servers.map((s) => new Promise<void>((r) => s.tryShutdown(() => r()))))) };
    } catch {
      servers.forEach((s) => s.forceShutdown());
    }
  }
  throw new Error(`no free port on ${ips.join(", ")} after 20 tries`);
}

export interface XdsClient {
  call(calls: number, concurrency?: number): Promise<{ counts: Record<string, number>; errors: number; lastError?: string }>;
  stderr: () => string;
  stop(): Promise<void>;
}

/** Starts the grpc-js-xds client process with a bootstrap pointing at `grpcAddr`. */
export function startXdsClient(grpcAddr: string, target: string, nodeId: string): XdsClient {
  const bootstrap = {
    xds_servers: [{ server_uri: grpcAddr, channel_creds: [{ type: "insecure" }], server_features: ["xds_v3"] }],
    node: { id: nodeId, metadata: { GENERATOR: "grpc", NAMESPACE: nodeId.split("~")[2]?.split(".")[1] ?? "default" }, locality: {} },
  };
  const proc = spawn(process.execPath, ["--import", "tsx", `${SRC}test-util/grpc-xds-client.ts`], {
    cwd: PKG,
    env: { ...process.env, GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(bootstrap), XDS_TARGET: target },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let err = "";
  proc.stderr!.on("data", (d) => (err += d));
  const lines = createInterface({ input: proc.stdout! });
  const waiting: Array<(line: string) => void> = [];
  lines.on("line", (line) => waiting.shift()?.(line));
  return {
    call(calls, concurrency = 4) {
      return new Promise((resolve, reject) => {
        const onExit = () => reject(new Error(`grpc-js-xds client exited:\n${err}`));
        proc.once("exit", onExit);
        waiting.push((line) => {
          proc.off("exit", onExit);
          resolve(JSON.parse(line));
        });
        proc.stdin!.write(JSON.stringify({ calls, concurrency }) + "\n");
      });
    },
    stderr: () => err,
    async stop() {
      if (proc.exitCode !== null) return;
      proc.stdin!.end();
      const timer = setTimeout(() => proc.kill("SIGKILL"), 3000);
      await once(proc, "exit");
      clearTimeout(timer);
    },
  };
}
