// The real weft-proxy (its built bundle) started on a bootstrap for tests that check what
// discovery generates against the data plane: spawned, its output kept for failure messages,
// and awaited until a listener accepts connections (a refused connection means not up yet).
import type { JsonObject } from "@bufbuild/protobuf";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const PROXY_BIN = fileURLToPath(new URL("../../../proxy/dist/bundle/weft-proxy.mjs", import.meta.url));
/** Whether the proxy is built (tests skip, saying so, when it is not). */
export const proxyBuilt = existsSync(PROXY_BIN);

export interface WeftProxyProcess {
  readonly child: ChildProcess;
  /** Everything the proxy printed so far. */
  log(): string;
  stop(): void;
}

/**
 * Writes `bootstrap` to `dir`, starts the proxy and resolves once `host:port` accepts a
 * connection; `why()` adds context (e.g. NACKs seen by a test ADS server) to a timeout.
 */
export async function startWeftProxy(dir: string, bootstrap: JsonObject, listen: { host: string; port: number }, why: () => string = () => ""): Promise<WeftProxyProcess> {
  const file = join(dir, "bootstrap.json");
  writeFileSync(file, JSON.stringify(bootstrap));
  let log = "";
  const child = spawn(process.execPath, [PROXY_BIN, "-c", file, "-l", "warning"], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (d: Buffer) => (log += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  const proxy = { child, log: () => log, stop: () => void child.kill("SIGKILL") };
  const end = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`weft-proxy exited ${child.exitCode}: ${log.slice(-800)}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(listen.port, listen.host);
      s.once("connect", () => (s.destroy(), resolve(true)));
      s.once("error", () => resolve(false));
    });
    if (up) return proxy;
    if (Date.now() > end) {
      proxy.stop();
      throw new Error(`weft-proxy did not listen on ${listen.host}:${listen.port} ${why()}: ${log.slice(-800)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
