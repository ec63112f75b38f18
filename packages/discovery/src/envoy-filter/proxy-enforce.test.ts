// Istio's local rate limit EnvoyFilter enforced by the real weft-proxy with
// discovery's config: productpage's inbound listener (explicit mode: bound on
// the proxy's own loopback address, no capture needed) patched by the
// EnvoyFilter, in front of a plain HTTP app. The task's bucket holds 4 tokens
// refilled every 60 s, so the 5th request within a minute gets Envoy's 429
// with the `x-local-rate-limit: true` header the EnvoyFilter adds.
import type { JsonObject } from "@bufbuild/protobuf";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ISTIO_LOCAL_RATE_LIMIT } from "../test-util/envoy-filter-fixtures.js";
import { proxyOf } from "../test-util/mesh-fixtures.js";
import { json, smallPush } from "../test-util/small-mesh.js";

const PROXY_BIN = fileURLToPath(new URL("../../../proxy/dist/bundle/weft-proxy.mjs", import.meta.url));
const PROXY_IP = "127.77.1.6";
const APP_IP = "127.78.1.6";
// Plaintext inbound, so the test needs no certificates (mTLS is covered elsewhere).
const NO_MTLS = `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: default }
spec: { mtls: { mode: DISABLE } }
`;

function get(path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: PROXY_IP, port: 9080, path, headers: { host: "productpage" }, agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on("timeout", () => req.destroy(new Error(`timeout on GET ${path}`)));
    req.on("error", reject);
  });
}

describe.skipIf(!existsSync(PROXY_BIN))("Istio's local rate limit EnvoyFilter in weft-proxy", () => {
  const dir = mkdtempSync(join(tmpdir(), "weft-ef-enforce-"));
  let app: http.Server | undefined;
  let proxy: ChildProcess | undefined;
  let log = "";
  let appRequests = 0;

  beforeAll(async () => {
    app = http.createServer((_req, res) => {
      appRequests++;
      res.end("ok");
    });
    await new Promise<void>((resolve) => app!.listen(9080, APP_IP, resolve));
    const push = smallPush(`${NO_MTLS}${ISTIO_LOCAL_RATE_LIMIT}`);
    expect(push.errors).toEqual([]);
    const node = proxyOf({ ip: PROXY_IP, pod: "productpage-v1", namespace: "default", labels: { app: "productpage", version: "v1" }, extra: { INTERCEPTION_MODE: "NONE", WEFT_APP_ADDRESS: APP_IP } });
    const listeners = json(push, node, "Listener").filter((l) => {
      const a = (l.address as { socket_address?: { address: string; port_value: number } }).socket_address;
      return a?.address === PROXY_IP && a.port_value === 9080;
    });
    expect(listeners).toHaveLength(1);
    const clusters = json(push, node, "Cluster").filter((c) => c.name === "inbound|9080||");
    const boot: JsonObject = { node: { id: `sidecar~${PROXY_IP}~productpage-v1.default~default.svc.cluster.local`, cluster: "productpage.default" }, static_resources: { listeners, clusters } };
    const file = join(dir, "bootstrap.json");
    writeFileSync(file, JSON.stringify(boot));
    proxy = spawn(process.execPath, [PROXY_BIN, "-c", file, "-l", "warning"], { stdio: ["ignore", "pipe", "pipe"] });
    proxy.stdout!.on("data", (d: Buffer) => (log += d.toString()));
    proxy.stderr!.on("data", (d: Buffer) => (log += d.toString()));
    // Wait for the listener without spending tokens: a refused connection means not up yet.
    const end = Date.now() + 60_000;
    for (;;) {
      if (proxy.exitCode !== null) throw new Error(`weft-proxy exited ${proxy.exitCode}: ${log.slice(-500)}`);
      const up = await new Promise<boolean>((resolve) => {
        const s = new net.Socket();
        s.once("connect", () => (s.destroy(), resolve(true)));
        s.once("error", () => resolve(false));
        s.connect(9080, PROXY_IP);
      });
      if (up) break;
      if (Date.now() > end) throw new Error(`weft-proxy did not listen on ${PROXY_IP}:9080: ${log.slice(-500)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 90_000);

  afterAll(async () => {
    proxy?.kill();
    await new Promise((resolve) => (app ? app.close(resolve) : resolve(undefined)));
    rmSync(dir, { recursive: true, force: true });
  });

  it("lets 4 requests through, then answers 429 with x-local-rate-limit: true without reaching the app", async () => {
    const results = [];
    for (let i = 0; i < 6; i++) results.push(await get(`/r${i}`));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 429, 429]);
    expect(results[4].headers["x-local-rate-limit"]).toBe("true");
    expect(results[0].headers["x-local-rate-limit"]).toBeUndefined();
    expect(appRequests).toBe(4);
  }, 60_000);
});
