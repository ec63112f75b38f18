// The local mesh in explicit mode, run as an unprivileged user: no namespaces,
// no iptables, every pod on its own 127.10.x.y address and its app's HTTP
// going through its sidecar as an HTTP proxy. The same weftctl commands as
// in transparent mode; what a developer without root gets.
import { chmodSync, chownSync, existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalDriver } from "../drivers/local-driver.js";
import { SAMPLES } from "../drivers/weftctl.js";
import { eventually, get, stillRunning } from "./http.js";

/** `nobody`: when the suite runs as root, weftctl runs as this user to prove it needs no privilege. */
const UNPRIVILEGED = 65534;
const asRoot = process.getuid?.() === 0;

const stateDir = mkdtempSync(join(tmpdir(), "weft-e2e-explicit-"));
if (asRoot) {
  chownSync(stateDir, UNPRIVILEGED, UNPRIVILEGED);
  chmodSync(stateDir, 0o755);
}
const driver = createLocalDriver(stateDir, { mode: "explicit", ...(asRoot ? { uid: UNPRIVILEGED } : {}) });
const unavailable = process.platform === "linux" ? await driver.unavailable() : "explicit mode is only tested on Linux here";
const BOOKINFO = join(SAMPLES, "bookinfo");
const ingressPort = 18081;

describe.skipIf(unavailable !== undefined)(`the mesh in explicit mode, as ${asRoot ? "uid 65534" : "this user"}${unavailable ? ` — skipped: ${unavailable}` : ""}`, () => {
  beforeAll(async () => {
    await driver.up({
      files: [join(BOOKINFO, "platform/kube/bookinfo.yaml"), join(BOOKINFO, "networking/bookinfo-gateway.yaml"), join(SAMPLES, "httpbin/httpbin.yaml"), join(SAMPLES, "sleep/sleep.yaml")],
      ingressPort,
    });
  }, 180_000);

  afterAll(async () => {
    await driver.down().catch(() => undefined);
  }, 60_000);

  it("serves Bookinfo through the ingress, productpage calling details and reviews through its sidecar", async () => {
    const page = await eventually("/productpage", () => get(`${driver.ingressUrl()}/productpage`), (r) => r.status === 200, 30_000);
    expect(page.body).toContain("Book Details");
    expect(page.body).not.toContain("Error fetching product details");
    expect(page.body).not.toContain("Error fetching product reviews");
  });

  it("carries `weftctl local exec sleep -- curl http://httpbin:8000/headers` through both sidecars", async () => {
    const r = await driver.exec("sleep", ["curl", "-sS", "http://httpbin:8000/headers"]);
    expect(r.code, r.stderr).toBe(0);
    const headers = (JSON.parse(r.stdout) as { headers: Record<string, string> }).headers;
    for (const name of ["X-B3-Traceid", "X-B3-Spanid", "X-Request-Id"]) expect(headers, name).toHaveProperty(name);
    expect(headers["X-Envoy-Attempt-Count"]).toBe("1");
    expect(headers.Host).toBe("httpbin:8000");
  });

  it("logs the request on both sidecars (the server side's inbound cluster is the shifted port)", async () => {
    const r = await driver.exec("sleep", ["curl", "-sS", "-H", "x-request-id: e2e-explicit-1", "http://httpbin:8000/get"]);
    expect(r.code, r.stderr).toBe(0);
    const line = (log: string) => log.split("\n").find((l) => l.includes('"e2e-explicit-1"'));
    const client = await eventually("client log line", async () => line(await driver.logs("sleep", "istio-proxy")), Boolean);
    expect(JSON.parse(client!)).toMatchObject({ upstream_cluster: "outbound|8000||httpbin.default.svc.cluster.local", response_code: 200 });
    const server = await eventually("server log line", async () => line(await driver.logs("httpbin", "istio-proxy")), Boolean);
    expect(JSON.parse(server!)).toMatchObject({ upstream_cluster: "inbound|20080||", response_code: 200 });
  });

  it("answers a host that is not in the mesh with a 502 that says why", async () => {
    const r = await driver.exec("sleep", ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "http://nowhere.example:8000/"]);
    expect(r.stdout).toBe("502");
  });

  it("stops every process on `down`", async () => {
    const pids = await driver.processes();
    expect(pids.length).toBeGreaterThan(5);
    await driver.down();
    expect(stillRunning(pids)).toEqual([]);
    expect(existsSync(join(stateDir, "state.json"))).toBe(false);
  }, 30_000);
});
