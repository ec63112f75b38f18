// The generated AuthorizationPolicy enforced by the real weft-proxy in front of
// Debian's httpbin: productpage's inbound listener (explicit mode, so no
// capture is needed: bound on the proxy's own loopback address) from
// discovery's LDS/CDS, a DENY on /anything/secret that must hold against the
// path variants a client could try, and ALLOW of GET only (so POST is denied
// by default). PeerAuthentication DISABLE keeps the test free of certificates;
// the mTLS side is covered by the e2e suite and proxy-validate.test.ts.
import type { JsonObject } from "@bufbuild/protobuf";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { proxyOf } from "../test-util/mesh-fixtures.js";
import { json, smallPush } from "../test-util/small-mesh.js";

const PROXY_BIN = fileURLToPath(new URL("../../../proxy/dist/bin/weft-proxy.js", import.meta.url));
const PY = "/usr/bin/python3";
const PROXY_IP = "127.77.0.6";
const APP_IP = "127.78.0.6";
const httpbinAvailable = (): boolean => existsSync(PY) && spawnSync(PY, ["-c", "import httpbin"], { stdio: "ignore" }).status === 0;

const POLICIES = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: default }
spec: { mtls: { mode: DISABLE } }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-secret, namespace: default }
spec: { action: DENY, rules: [{ to: [{ operation: { paths: ["/anything/secret", "/anything/secret/*"] } }] }] }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: get-only, namespace: default }
spec: { selector: { matchLabels: { app: productpage } }, rules: [{ to: [{ operation: { methods: [GET] } }] }] }
`;

const HTTPBIN = `
import sys, httpbin
from wsgiref.simple_server import make_server, WSGIRequestHandler, WSGIServer
from socketserver import ThreadingMixIn
class Quiet(WSGIRequestHandler):
    def log_message(self, *a): pass
class Threaded(ThreadingMixIn, WSGIServer):
    daemon_threads = True
srv = make_server(sys.argv[1], int(sys.argv[2]), httpbin.app, server_class=Threaded, handler_class=Quiet)
print("ready", flush=True)
srv.serve_forever()
`;

/** One raw HTTP/1.1 request (the path goes out exactly as written) → status code. */
async function request(method: string, path: string, host = "productpage"): Promise<number> {
  return (await exchange(method, path, host)).status;
}

function exchange(method: string, path: string, host: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(9080, PROXY_IP);
    let data = "";
    s.setTimeout(10_000, () => s.destroy(new Error(`timeout on ${method} ${path}`)));
    s.on("connect", () => s.write(`${method} ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`));
    s.on("data", (d: Buffer) => (data += d.toString("latin1")));
    s.on("error", reject);
    s.on("close", () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (m) resolve({ status: Number(m[1]), text: data });
      else reject(new Error(`no HTTP response to ${method} ${path}: ${JSON.stringify(data.slice(0, 200))}`));
    });
  });
}

async function waitFor(check: () => Promise<unknown>, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > end) throw new Error(`${what}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

describe.skipIf(!existsSync(PROXY_BIN) || !httpbinAvailable())("AuthorizationPolicy enforced by weft-proxy with discovery's config", () => {
  const dir = mkdtempSync(join(tmpdir(), "weft-sec-enforce-"));
  let app: ChildProcess | undefined;
  let proxy: ChildProcess | undefined;
  let proxyLog = "";

  beforeAll(async () => {
    const push = smallPush(POLICIES);
    expect(push.errors).toEqual([]);
    const node = proxyOf({ ip: PROXY_IP, pod: "productpage-v1", namespace: "default", labels: { app: "productpage", version: "v1" }, extra: { INTERCEPTION_MODE: "NONE", WEFT_APP_ADDRESS: APP_IP } });
    const listeners = json(push, node, "Listener").filter((l) => {
      const a = (l.address as { socket_address?: { address: string; port_value: number } }).socket_address;
      return a?.address === PROXY_IP && a.port_value === 9080;
    });
    expect(listeners.length).toBe(1);
    const clusters = json(push, node, "Cluster").filter((c) => c.name === "inbound|9080||");
    const boot: JsonObject = { node: { id: "sidecar~127.77.0.6~productpage-v1.default~default.svc.cluster.local", cluster: "productpage.default" }, static_resources: { listeners, clusters } };
    const file = join(dir, "bootstrap.json");
    writeFileSync(file, JSON.stringify(boot));
    app = spawn(PY, ["-c", HTTPBIN, APP_IP, "9080"], { stdio: ["ignore", "pipe", "pipe"] });
    proxy = spawn(process.execPath, [PROXY_BIN, "-c", file, "-l", "warning"], { stdio: ["ignore", "pipe", "pipe"] });
    proxy.stdout!.on("data", (d: Buffer) => (proxyLog += d.toString()));
    proxy.stderr!.on("data", (d: Buffer) => (proxyLog += d.toString()));
    await waitFor(async () => {
      if (proxy!.exitCode !== null) throw new Error(`weft-proxy exited ${proxy!.exitCode}: ${proxyLog.slice(-500)}`);
      const code = await request("GET", "/status/200");
      if (code !== 200) throw new Error(`status ${code}`);
    }, "proxy + httpbin ready");
  }, 120_000);

  afterAll(() => {
    proxy?.kill();
    app?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it("allows what the ALLOW policy names", async () => {
    expect(await request("GET", "/anything/public")).toBe(200);
  });

  it("a denial is the RBAC filter's (Envoy's local reply), not the app's", async () => {
    const r = await exchange("GET", "/anything/secret", "productpage");
    expect(r.status).toBe(403);
    expect(r.text).toContain("RBAC: access denied");
  });

  it("denies everything else by default once an ALLOW policy exists", async () => {
    expect(await request("POST", "/anything/public")).toBe(403);
  });

  it.each(["/anything/secret", "/anything/secret/x", "//anything/secret", "/anything//secret", "/anything/./secret", "/anything/x/../secret", "/anything/%73ecret", "/%61nything/secret", "/anything/secret#frag", "/anything/secret?q=1"])(
    "the DENY on /anything/secret holds against %s",
    async (path) => {
      expect(await request("GET", path)).toBe(403);
    },
    30_000,
  );

  it("the DENY holds with an upper-case or trailing-dot Host", async () => {
    expect(await request("GET", "/anything/secret", "PRODUCTPAGE")).toBe(403);
    expect(await request("GET", "/anything/secret", "productpage.default.svc.cluster.local.")).toBe(403);
  });
});
