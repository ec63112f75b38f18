// Istio's local rate limit EnvoyFilter enforced by the real weft-proxy with
// discovery's config: productpage's inbound listener (explicit mode: bound on
// the proxy's own loopback address, no capture needed) patched by the
// EnvoyFilter, in front of a plain HTTP app. The task's bucket holds 4 tokens
// refilled every 60 s, so the 5th request within a minute gets Envoy's 429
// with the `x-local-rate-limit: true` header the EnvoyFilter adds.
import type { JsonObject } from "@bufbuild/protobuf";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ISTIO_LOCAL_RATE_LIMIT } from "../test-util/envoy-filter-fixtures.js";
import { proxyOf } from "../test-util/mesh-fixtures.js";
import { json, smallPush } from "../test-util/small-mesh.js";
import { proxyBuilt, startWeftProxy, type WeftProxyProcess } from "../test-util/weft-proxy-process.js";

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

describe.skipIf(!proxyBuilt)("Istio's local rate limit EnvoyFilter in weft-proxy", () => {
  const dir = mkdtempSync(join(tmpdir(), "weft-ef-enforce-"));
  let app: http.Server | undefined;
  let proxy: WeftProxyProcess | undefined;
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
    proxy = await startWeftProxy(dir, boot, { host: PROXY_IP, port: 9080 });
  }, 90_000);

  afterAll(async () => {
    proxy?.stop();
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
