// Real peers on loopback: curl and nghttp (h2c) through a runtime built from a
// static config to Debian's python3-httpbin.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpListener, staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";
import { httpbinAvailable, startHttpbin } from "../test-util/httpbin.js";

const run = promisify(execFile);
const haveHttpbin = httpbinAvailable();

async function curl(args: string[]): Promise<{ status: number; headers: string; body: string }> {
  const { stdout } = await run("curl", ["-s", "-D", "-", "--max-time", "10", ...args]);
  const sep = stdout.lastIndexOf("\r\n\r\n");
  const headers = stdout.slice(0, sep);
  const status = Number(/HTTP\/[\d.]+ (\d{3})/g.exec(headers.split("\r\n\r\n").pop()!)![1]);
  return { status, headers: headers.toLowerCase(), body: stdout.slice(sep + 4) };
}

describe.skipIf(!haveHttpbin)("HTTP proxying to python3-httpbin", () => {
  let bin: Awaited<ReturnType<typeof startHttpbin>>;
  let h: Harness;
  let port: number;

  beforeAll(async () => {
    bin = await startHttpbin();
    h = await startRuntime({
      clusters: [staticCluster("httpbin", [bin.port]), { name: "empty", type: "STATIC", connect_timeout: "1s", load_assignment: { cluster_name: "empty", endpoints: [] } }],
      listeners: [
        httpListener("http", [
          {
            name: "httpbin",
            domains: ["httpbin.local", "httpbin.local:*"].slice(0, 1),
            include_request_attempt_count: true,
            routes: [{ name: "all", match: { prefix: "/" }, route: { cluster: "httpbin" } }],
          },
          {
            name: "empty",
            domains: ["empty.local"],
            routes: [{ name: "none", match: { prefix: "/" }, route: { cluster: "empty" } }],
          },
          {
            name: "missing",
            domains: ["missing.local"],
            routes: [{ name: "nc", match: { prefix: "/" }, route: { cluster: "does-not-exist" } }],
          },
          { name: "fallback", domains: ["*"], routes: [{ name: "only-get", match: { path: "/exists" }, direct_response: { status: 200, body: { inline_string: "yes" } } }] },
        ]),
      ],
    });
    port = h.port("http");
  });
  afterAll(async () => {
    await h?.close();
    bin?.stop();
  });

  it("proxies curl (HTTP/1.1) and the upstream sees x-request-id and x-envoy-attempt-count", async () => {
    const r = await curl(["-H", "Host: httpbin.local", `http://127.0.0.1:${port}/headers?show_env=1`]);
    expect(r.status).toBe(200);
    const echoed = JSON.parse(r.body).headers as Record<string, string>;
    expect(echoed["X-Request-Id"]).toMatch(/^[0-9a-f-]{36}$/);
    expect(echoed["X-Envoy-Attempt-Count"]).toBe("1");
    expect(echoed["X-Forwarded-Proto"]).toBe("http");
    expect(r.headers).toContain("server: envoy");
    expect(r.headers).toMatch(/x-envoy-upstream-service-time: \d+/);
    const log = await h.logs.waitFor((i) => i.routeName === "all");
    expect(log.responseCode).toBe(200);
    expect(log.upstreamCluster).toBe("httpbin");
    expect(log.responseFlags).toEqual([]);
    expect(h.stats.get("cluster.httpbin.upstream_rq_200")).toBeGreaterThanOrEqual(1);
    expect(h.stats.get("http.http.downstream_rq_2xx")).toBeGreaterThanOrEqual(1);
  });

  it("streams request bodies (POST) through", async () => {
    const r = await curl(["-H", "Host: httpbin.local", "-H", "content-type: text/plain", "--data-binary", "hello weft", `http://127.0.0.1:${port}/post`]);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).data).toBe("hello weft");
    const log = await h.logs.waitFor((i) => i.requestHeader?.(":path") === "/post");
    expect(log.bytesReceived).toBe(10);
    expect(log.bytesSent).toBe(Number(/content-length: (\d+)/.exec(r.headers)![1]));
  });

  it("answers Expect: 100-continue itself and streams a larger body", async () => {
    const file = join(tmpdir(), `weft-big-${process.pid}.txt`);
    writeFileSync(file, "x".repeat(200_000));
    const r = await curl(["-H", "Host: httpbin.local", "-H", "Expect: 100-continue", "-H", "content-type: text/plain", "--data-binary", `@${file}`, `http://127.0.0.1:${port}/post`]);
    unlinkSync(file);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body).data.length).toBe(200_000);
    const log = await h.logs.waitFor((i) => i.bytesReceived === 200_000);
    expect(log.responseCode).toBe(200);
  });

  it("proxies nghttp over h2c (prior knowledge)", async () => {
    const { stdout } = await run("nghttp", ["-v", "-H", ":authority: httpbin.local", `http://127.0.0.1:${port}/get?x=1&show_env=1`]);
    expect(stdout).toMatch(/:status: 200/);
    expect(stdout).toMatch(/"x":"1"/);
    expect(stdout).toMatch(/X-Request-Id/);
    const log = await h.logs.waitFor((i) => i.protocol === "HTTP/2");
    expect(log.responseCode).toBe(200);
  });

  it("answers 503 UH 'no healthy upstream' for a cluster with no endpoints", async () => {
    const r = await curl(["-H", "Host: empty.local", `http://127.0.0.1:${port}/`]);
    expect(r.status).toBe(503);
    expect(r.body).toBe("no healthy upstream");
    const log = await h.logs.waitFor((i) => i.routeName === "none");
    expect(log.responseFlags).toContain("UH");
    expect(log.responseCodeDetails).toBe("no_healthy_upstream");
  });

  it("answers 404 NR for a missing route", async () => {
    const r = await curl([`http://127.0.0.1:${port}/nope`]);
    expect(r.status).toBe(404);
    const log = await h.logs.waitFor((i) => i.responseCode === 404);
    expect(log.responseFlags).toEqual(["NR"]);
    expect(log.responseCodeDetails).toBe("route_not_found");
  });

  it("answers 503 NC for a route to an unknown cluster", async () => {
    const r = await curl(["-H", "Host: missing.local", `http://127.0.0.1:${port}/`]);
    expect(r.status).toBe(503);
    const log = await h.logs.waitFor((i) => i.routeName === "nc");
    expect(log.responseFlags).toEqual(["NC"]);
  });

  it("serves direct_response", async () => {
    const r = await curl([`http://127.0.0.1:${port}/exists`]);
    expect(r.status).toBe(200);
    expect(r.body).toBe("yes");
  });
});
