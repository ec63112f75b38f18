// A weft-proxy child process (the real binary, run from source with tsx) in
// front of an echo upstream, for the hostile-input and flood suites: they talk
// to it over raw sockets, read its stats from the admin API and its RSS from
// /proc, exactly as an attacker and an operator would.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import * as http from "node:http";
import { fileURLToPath } from "node:url";
import { freePort } from "./httpbin.js";

const BIN = fileURLToPath(new URL("../bin/weft-proxy.ts", import.meta.url));

export interface HostileProxy {
  port: number;
  adminPort: number;
  pid: number;
  /** Resident set size of the proxy process, bytes. */
  rss(): number;
  /** Counter value from /stats?format=json (0 when absent). */
  stat(name: string): Promise<number>;
  /** A normal GET through the proxy on a fresh connection: [status, body]. */
  get(path?: string): Promise<[number, string]>;
  stderr(): string;
  stop(): Promise<void>;
}

export interface Upstream {
  port: number;
  /** Request heads the upstream saw, in order. */
  seen: Array<{ method: string; url: string; headers: http.IncomingHttpHeaders; rawHeaders: string[]; body: string }>;
  close(): Promise<void>;
}

/** An HTTP/1.1 upstream that answers every request with a small JSON echo of its head. */
export async function startEchoUpstream(): Promise<Upstream> {
  const seen: Upstream["seen"] = [];
  const srv = http.createServer({ maxHeaderSize: 256 * 1024 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("latin1");
      if (seen.length < 1000) seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, rawHeaders: req.rawHeaders, body });
      const out = JSON.stringify({ url: req.url, host: req.headers.host, bytes: body.length });
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(out) });
      res.end(out);
    });
  });
  srv.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return {
    port: (srv.address() as { port: number }).port,
    seen,
    close: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

const ECHO_CHILD = `
const http = require("node:http");
const srv = http.createServer((req, res) => {
  let n = 0;
  req.on("data", (c) => (n += c.length));
  req.on("end", () => {
    const out = JSON.stringify({ url: req.url, bytes: n });
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(out) });
    res.end(out);
  });
});
srv.keepAliveTimeout = 60000;
srv.listen(0, "127.0.0.1", () => console.log("echo-upstream-port " + srv.address().port));
`;

/**
 * The same echo upstream in its own process, for load tests: the attacker's
 * loops in the test process must not starve the upstream the proxy talks to.
 */
export async function startEchoUpstreamProcess(): Promise<{ port: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ["-e", ECHO_CHILD], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  // Read until the marked line: anything else the child prints first (a NODE_OPTIONS hook,
  // a warning) must not be taken for the port.
  let out = "";
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`echo upstream did not start; it printed: ${out.slice(0, 200)}`)), 30_000);
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /echo-upstream-port (\d+)/.exec(out);
      if (!m) return;
      clearTimeout(t);
      child.stdout!.resume();
      resolve(Number(m[1]));
    });
  });
  return {
    port,
    async stop() {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}

/** A GET through curl, a process of its own: [status, 0 when it failed or timed out]. */
export function curlStatus(port: number, path: string, timeoutS = 10): Promise<number> {
  return new Promise((resolve) => {
    execFile("curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "-m", String(timeoutS), `http://127.0.0.1:${port}${path}`], (_e, out) => resolve(Number(String(out).trim()) || 0));
  });
}

/** HCM fields merged into the listener's http_connection_manager (Envoy YAML-as-JSON). */
export type HcmOverrides = Record<string, unknown>;

export function hostileBootstrap(listenPort: number, upstreamPort: number, hcm: HcmOverrides = {}, listener: Record<string, unknown> = {}): string {
  const cfg = {
    admin: { address: { socket_address: { address: "127.0.0.1", port_value: 0 } } },
    node: { id: "hostile", cluster: "hostile" },
    static_resources: {
      listeners: [
        {
          name: "in",
          address: { socket_address: { address: "127.0.0.1", port_value: listenPort } },
          ...listener,
          filter_chains: [
            {
              filters: [
                {
                  name: "envoy.filters.network.http_connection_manager",
                  typed_config: {
                    "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                    stat_prefix: "in",
                    route_config: {
                      name: "r",
                      virtual_hosts: [
                        { name: "deny", domains: ["denied.test"], routes: [{ match: { prefix: "/p" }, direct_response: { status: 403, body: { inline_string: "denied" } } }, { match: { prefix: "/" }, route: { cluster: "up" } }] },
                        { name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "up" } }] },
                      ],
                    },
                    http_filters: [{ name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } }],
                    ...hcm,
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: [
        {
          name: "up",
          type: "STATIC",
          connect_timeout: "1s",
          load_assignment: { cluster_name: "up", endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: upstreamPort } } } }] }] },
        },
      ],
    },
  };
  return JSON.stringify(cfg);
}

/** `env` is added to this process's environment for the proxy. */
export async function startHostileProxy(upstreamPort: number, hcm: HcmOverrides = {}, listener: Record<string, unknown> = {}, env: Record<string, string> = {}): Promise<HostileProxy> {
  const port = await freePort();
  // WEFT_HOSTILE_NODE_FLAGS: extra node flags for the proxy (e.g. V8 heap flags when investigating memory).
  const child: ChildProcess = spawn(process.execPath, [...(process.env.WEFT_HOSTILE_NODE_FLAGS ?? "").split(" ").filter(Boolean), "--import", "tsx", BIN, "--config-yaml", hostileBootstrap(port, upstreamPort, hcm, listener), "-l", process.env.WEFT_HOSTILE_LOG ?? "info"], {
    stdio: ["ignore", "ignore", "pipe"],
    env: { ...process.env, ...env },
  });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => {
    if (stderr.length < 200_000) stderr += d.toString();
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  // Generous: a loaded CI machine can take long to transpile and boot several proxies at once.
  const deadline = Date.now() + 90_000;
  let adminPort = 0;
  while (!adminPort && Date.now() < deadline && child.exitCode === null) {
    const m = /"address":"127\.0\.0\.1:(\d+)".*admin listening/.exec(stderr);
    if (m) adminPort = Number(m[1]);
    else await new Promise((r) => setTimeout(r, 50));
  }
  if (!adminPort) {
    child.kill("SIGKILL");
    throw new Error(`weft-proxy did not start: ${stderr}`);
  }
  const proxy: HostileProxy = {
    port,
    adminPort,
    pid: child.pid!,
    rss() {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
      return m ? Number(m[1]) * 1024 : 0;
    },
    async stat(name) {
      const res = await fetch(`http://127.0.0.1:${adminPort}/stats?format=json&filter=${encodeURIComponent(`^${name.replace(/\./g, "\\.")}$`)}`);
      const j = (await res.json()) as { stats: Array<{ name: string; value?: number }> };
      return j.stats.find((s) => s.name === name)?.value ?? 0;
    },
    get: (path = "/ok") => httpGet(port, path),
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
  // The listener binds after the admin port: wait until a request gets through.
  while (Date.now() < deadline) {
    try {
      const [status] = await proxy.get();
      if (status === 200) return proxy;
    } catch {
      // not bound yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await proxy.stop();
  throw new Error(`weft-proxy never served a request: ${stderr}`);
}

export function httpGet(port: number, path: string): Promise<[number, string]> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path, agent: false, headers: { connection: "close" } }, (res) => {
      let body = "";
      res.setEncoding("latin1");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve([res.statusCode ?? 0, body]));
    });
    req.setTimeout(10_000, () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}
