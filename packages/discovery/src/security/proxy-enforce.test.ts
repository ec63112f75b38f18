// The generated AuthorizationPolicy enforced by the real weft-proxy in front of
// Debian's httpbin: productpage's inbound listener (explicit mode, so no
// capture is needed: bound on the proxy's own loopback address) from
// discovery's LDS/CDS, a DENY on /anything/secret that must hold against the
// path variants a client could try, and ALLOW of GET only (so POST is denied
// by default). PeerAuthentication DISABLE keeps the test free of certificates;
// the mTLS side is covered by the e2e suite and proxy-validate.test.ts. A second
// sidecar checks RequestAuthentication + requestPrincipals with ES256 tokens.
import type { JsonObject } from "@bufbuild/protobuf";
import { spawn, spawnSync } from "node:child_process";
import { createPrivateKey, generateKeyPairSync, sign } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { proxyOf } from "../test-util/mesh-fixtures.js";
import { json, smallPush } from "../test-util/small-mesh.js";

const PROXY_BIN = fileURLToPath(new URL("../../../proxy/dist/bundle/weft-proxy.mjs", import.meta.url));
const PY = "/usr/bin/python3";
const PROXY_IP = "127.77.0.6";
const APP_IP = "127.78.0.6";
const JWT_PROXY_IP = "127.77.0.7";
const JWT_APP_IP = "127.78.0.7";
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

function exchange(method: string, path: string, host: string, ip = PROXY_IP, extraHeaders = ""): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(9080, ip);
    let data = "";
    s.setTimeout(10_000, () => s.destroy(new Error(`timeout on ${method} ${path}`)));
    s.on("connect", () => s.write(`${method} ${path} HTTP/1.1\r\nHost: ${host}\r\n${extraHeaders}Content-Length: 0\r\nConnection: close\r\n\r\n`));
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

interface Sidecar {
  stop(): void;
}

/** httpbin on appIp:9080 and a weft-proxy with productpage's generated inbound listener on proxyIp:9080. */
async function startSidecar(dir: string, proxyIp: string, appIp: string, yaml: string): Promise<Sidecar> {
  const push = smallPush(yaml);
  expect(push.errors).toEqual([]);
  const node = proxyOf({ ip: proxyIp, pod: "productpage-v1", namespace: "default", labels: { app: "productpage", version: "v1" }, extra: { INTERCEPTION_MODE: "NONE", WEFT_APP_ADDRESS: appIp } });
  const listeners = json(push, node, "Listener").filter((l) => {
    const a = (l.address as { socket_address?: { address: string; port_value: number } }).socket_address;
    return a?.address === proxyIp && a.port_value === 9080;
  });
  expect(listeners.length).toBe(1);
  const clusters = json(push, node, "Cluster").filter((c) => c.name === "inbound|9080||");
  const boot: JsonObject = { node: { id: `sidecar~${proxyIp}~productpage-v1.default~default.svc.cluster.local`, cluster: "productpage.default" }, static_resources: { listeners, clusters } };
  const file = join(dir, `bootstrap-${proxyIp}.json`);
  writeFileSync(file, JSON.stringify(boot));
  const app = spawn(PY, ["-c", HTTPBIN, appIp, "9080"], { stdio: ["ignore", "pipe", "pipe"] });
  const proxy = spawn(process.execPath, [PROXY_BIN, "-c", file, "-l", "warning"], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  proxy.stdout!.on("data", (d: Buffer) => (log += d.toString()));
  proxy.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  const stop = (): void => {
    proxy.kill();
    app.kill();
  };
  try {
    await waitFor(async () => {
      if (proxy.exitCode !== null) throw new Error(`weft-proxy exited ${proxy.exitCode}: ${log.slice(-500)}`);
      // Any HTTP answer from the listener means proxy and app are up (the policies may deny this request).
      await exchange("GET", "/status/200", "productpage", proxyIp);
    }, "proxy + httpbin ready");
  } catch (err) {
    stop();
    throw err;
  }
  return { stop };
}

describe.skipIf(!existsSync(PROXY_BIN) || !httpbinAvailable())("AuthorizationPolicy enforced by weft-proxy with discovery's config", () => {
  const dir = mkdtempSync(join(tmpdir(), "weft-sec-enforce-"));
  let sidecar: Sidecar | undefined;
  beforeAll(async () => {
    sidecar = await startSidecar(dir, PROXY_IP, APP_IP, POLICIES);
  }, 120_000);
  afterAll(() => {
    sidecar?.stop();
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

// RequestAuthentication + requestPrincipals: a token signed with an ES256 key whose JWKS is inline.
const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
const JWK = { ...(publicKey.export({ format: "jwk" }) as Record<string, string>), kid: "k1", alg: "ES256", use: "sig" };
const b64 = (v: object | Buffer): string => (Buffer.isBuffer(v) ? v : Buffer.from(JSON.stringify(v))).toString("base64url");
function token(claims: Record<string, unknown>, header: Record<string, unknown> = { alg: "ES256", kid: "k1", typ: "JWT" }): string {
  const input = `${b64(header)}.${b64(claims)}`;
  if (header.alg === "none") return `${input}.`;
  const sig = sign("sha256", Buffer.from(input), { key: createPrivateKey(privateKey.export({ format: "pem", type: "pkcs8" })), dsaEncoding: "ieee-p1363" });
  return `${input}.${b64(sig)}`;
}
const now = Math.floor(Date.now() / 1000);

const JWT_POLICIES = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: default }
spec: { mtls: { mode: DISABLE } }
---
apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata: { name: jwt, namespace: default }
spec: { selector: { matchLabels: { app: productpage } }, jwtRules: [{ issuer: issuer-1, jwks: '${JSON.stringify({ keys: [JWK] })}' }] }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: alice, namespace: default }
spec: { selector: { matchLabels: { app: productpage } }, rules: [{ from: [{ source: { requestPrincipals: ["issuer-1/alice"] } }] }] }
`;

describe.skipIf(!existsSync(PROXY_BIN) || !httpbinAvailable())("RequestAuthentication + requestPrincipals enforced by weft-proxy with discovery's config", () => {
  const dir = mkdtempSync(join(tmpdir(), "weft-sec-jwt-"));
  let sidecar: Sidecar | undefined;
  beforeAll(async () => {
    sidecar = await startSidecar(dir, JWT_PROXY_IP, JWT_APP_IP, JWT_POLICIES);
  }, 120_000);
  afterAll(() => {
    sidecar?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const get = async (jwt?: string) => (await exchange("GET", "/anything/jwt", "productpage", JWT_PROXY_IP, jwt === undefined ? "" : `Authorization: Bearer ${jwt}\r\n`)).status;

  it("a valid token of the allowed principal passes", async () => {
    expect(await get(token({ iss: "issuer-1", sub: "alice", exp: now + 600 }))).toBe(200);
  });

  it("a valid token of another subject, or no token, is denied by authorization (403)", async () => {
    expect(await get(token({ iss: "issuer-1", sub: "bob", exp: now + 600 }))).toBe(403);
    expect(await get()).toBe(403);
  });

  it.each([
    ["malformed", "not.a.jwt"],
    ["expired", token({ iss: "issuer-1", sub: "alice", exp: now - 600 })],
    ["alg none", token({ iss: "issuer-1", sub: "alice", exp: now + 600 }, { alg: "none", typ: "JWT" })],
    ["unknown issuer", token({ iss: "issuer-x", sub: "alice", exp: now + 600 })],
  ])("a %s token is rejected by authentication (401)", async (_what, jwt) => {
    expect(await get(jwt)).toBe(401);
  });
});
