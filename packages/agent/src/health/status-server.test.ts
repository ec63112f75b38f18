import { spawnSync } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { ChildProcess } from "node:child_process";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, HTTPBIN_PYTHON, startHttpbin } from "../test-util/httpbin.js";
import { parseAppProbers } from "./app-probers.js";
import { appScrapeTarget, renderAgentMetrics } from "./metrics-merge.js";
import { createStatusServer, type StatusServer } from "./status-server.js";

const hasPromtool = spawnSync("promtool", ["--version"]).status === 0;

const log = pino({ level: "silent" });
if (!HTTPBIN_PYTHON) console.warn("status-server.test.ts: python3-httpbin is not installed; app probe tests are skipped");

describe("createStatusServer()", () => {
  let httpbin: ChildProcess | undefined;
  let httpbinPort = 0;
  let app: Server;
  let appPort = 0;
  let status: StatusServer;
  let ready = false;
  let quits = 0;
  const base = () => `http://127.0.0.1:${status.port}`;

  beforeAll(async () => {
    if (HTTPBIN_PYTHON) {
      httpbinPort = await freePort();
      httpbin = await startHttpbin(httpbinPort);
    }
    app = createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end('# HELP app_requests_total Requests.\n# TYPE app_requests_total counter\napp_requests_total{path="/"} 7\n');
    });
    await new Promise<void>((r) => app.listen(0, "127.0.0.1", r));
    appPort = (app.address() as { port: number }).port;
    const closedPort = await freePort();
    status = await createStatusServer({
      host: "127.0.0.1",
      port: 0,
      log,
      readiness: async () => ({ ready, reason: "proxy has not received its first config" }),
      proxyMetrics: async () =>
        '# TYPE envoy_cluster_upstream_cx_total counter\nenvoy_cluster_upstream_cx_total{cluster_name="xds-grpc"} 1\n# TYPE istio_requests_total counter\nistio_requests_total{response_code="200",reporter="destination"} 3\n',
      agentMetrics: () => renderAgentMetrics({ istio_agent_xds_acks_total: { help: "ACKs relayed.", type: "counter", value: 2 } }),
      appScrape: appScrapeTarget(JSON.stringify({ scrape: "true", port: String(appPort), path: "/metrics" }), {}, 15020),
      appHost: "127.0.0.1",
      probers: parseAppProbers(
        JSON.stringify({
          "/app-health/httpbin/livez": { httpGet: { path: "/status/200", port: httpbinPort || 1, scheme: "HTTP" }, timeoutSeconds: 1 },
          "/app-health/httpbin/readyz": { httpGet: { path: "/status/503", port: httpbinPort || 1, scheme: "HTTP" }, timeoutSeconds: 1 },
          "/app-health/httpbin/startupz": { tcpSocket: { port: httpbinPort || 1 }, timeoutSeconds: 1 },
          "/app-health/other/livez": { tcpSocket: { port: closedPort }, timeoutSeconds: 1 },
          "/app-health/hdr/readyz": { httpGet: { path: "/headers", port: httpbinPort || 1, httpHeaders: [{ name: "X-Probe", value: "yes" }] } },
        }),
      ),
      onQuit: () => quits++,
    });
  });

  afterAll(async () => {
    httpbin?.kill();
    app.close();
    await status.close();
  });

  it("answers /healthz/ready 503 with the reason until ready, then 200", async () => {
    let r = await fetch(`${base()}/healthz/ready`);
    expect(r.status).toBe(503);
    expect(await r.text()).toMatch(/first config/);
    ready = true;
    r = await fetch(`${base()}/healthz/ready`);
    expect(r.status).toBe(200);
  });

  it("merges proxy, app and agent metrics into one exposition promtool accepts", async () => {
    const r = await fetch(`${base()}/stats/prometheus`);
    const text = await r.text();
    expect(text).toMatch(/istio_requests_total\{response_code="200",reporter="destination"\} 3/);
    expect(text).toMatch(/app_requests_total\{path="\/"\} 7/);
    expect(text).toMatch(/istio_agent_xds_acks_total 2/);
    if (!hasPromtool) {
      console.warn("status-server.test.ts: promtool not installed (Debian: prometheus); the merged exposition was not checked by it");
      return;
    }
    // promtool exits 1 on a parse error and 3 on style lints (Envoy's families carry no HELP).
    const r2 = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
    expect(r2.stderr + r2.stdout).not.toMatch(/parsing error|error while linting/);
    expect([0, 3]).toContain(r2.status);
  });

  it.skipIf(!HTTPBIN_PYTHON)("runs HTTP and TCP app probes against httpbin", async () => {
    expect((await fetch(`${base()}/app-health/httpbin/livez`)).status).toBe(200);
    expect((await fetch(`${base()}/app-health/httpbin/readyz`)).status).toBe(503);
    expect((await fetch(`${base()}/app-health/httpbin/startupz`)).status).toBe(200);
    expect((await fetch(`${base()}/app-health/other/livez`)).status).toBe(500);
    expect((await fetch(`${base()}/app-health/nope/livez`)).status).toBe(404);
  });

  it("ends the sidecar on POST /quitquitquit only", async () => {
    expect((await fetch(`${base()}/quitquitquit`)).status).toBe(405);
    expect((await fetch(`${base()}/quitquitquit`, { method: "POST" })).status).toBe(200);
    expect(quits).toBe(1);
  });
});

describe("parseAppProbers()", () => {
  it.each([
    ["not json", /not JSON/],
    ['{"/healthz":{"tcpSocket":{"port":1}}}', /is not \/app-health/],
    ['{"/app-health/a/livez":{}}', /exactly one of httpGet, tcpSocket, grpc/],
    ['{"/app-health/a/livez":{"httpGet":{"port":"http"}}}', /named ports must be resolved/],
  ])("rejects %s", (json, msg) => expect(() => parseAppProbers(json)).toThrow(msg));
});

describe("appScrapeTarget()", () => {
  it("ignores annotations that already point at the agent", () => {
    expect(appScrapeTarget(undefined, { "prometheus.io/scrape": "true", "prometheus.io/port": "15020" }, 15020)).toBeUndefined();
    expect(appScrapeTarget(undefined, { "prometheus.io/scrape": "true", "prometheus.io/port": "9090" }, 15020)).toEqual({ port: 9090, path: "/metrics" });
  });
});
