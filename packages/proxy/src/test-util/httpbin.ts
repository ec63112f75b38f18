// Debian's python3-httpbin on a free loopback port, served by a tiny wsgiref
// server (gunicorn is not assumed). Skips cleanly when httpbin is missing.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as net from "node:net";

const PY = "/usr/bin/python3";

export function httpbinAvailable(): boolean {
  return spawnSync(PY, ["-c", "import httpbin"], { stdio: "ignore" }).status === 0;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
    s.on("error", reject);
  });
}

const SERVER = `
import sys, httpbin
from wsgiref.simple_server import make_server, WSGIRequestHandler, WSGIServer
from socketserver import ThreadingMixIn
class Quiet(WSGIRequestHandler):
    def log_message(self, *a): pass
class Threaded(ThreadingMixIn, WSGIServer):
    daemon_threads = True
srv = make_server("127.0.0.1", int(sys.argv[1]), httpbin.app, server_class=Threaded, handler_class=Quiet)
print("ready", flush=True)
srv.serve_forever()
`;

export async function startHttpbin(): Promise<{ port: number; proc: ChildProcess; stop(): void }> {
  const port = await freePort();
  const proc = spawn(PY, ["-c", SERVER, String(port)], { stdio: ["ignore", "pipe", "pipe"] });
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("httpbin did not start")), 15_000);
    proc.stdout!.on("data", (d: Buffer) => {
      if (d.toString().includes("ready")) {
        clearTimeout(t);
        resolve();
      }
    });
    proc.once("exit", (code) => reject(new Error(`httpbin exited with ${code}`)));
  });
  return { port, proc, stop: () => proc.kill() };
}
