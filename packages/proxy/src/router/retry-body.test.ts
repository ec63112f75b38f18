// Retries of requests with a body: the body is kept up to the buffer limit
// (per_request_buffer_limit_bytes) and replayed on each attempt; past the
// limit the request is not retried (retry_or_shadow_abandoned).
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpListener, staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";

function post(port: number, path: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: "127.0.0.1", port, path, method: "POST", agent: false, headers: { "content-type": "text/plain" } }, (res) => {
      let b = "";
      res.on("data", (d) => (b += d));
      res.on("end", () => resolve({ status: res.statusCode!, body: b }));
    });
    r.on("error", reject);
    r.end(body);
  });
}

describe("retries with request bodies", () => {
  let h: Harness;
  let be: http.Server;
  let calls = 0;
  beforeAll(async () => {
    be = http.createServer((req, res) => {
      calls++;
      let b = "";
      req.on("data", (d) => (b += d));
      req.on("end", () => {
        if (req.url?.endsWith("/always503")) {
          res.statusCode = 503;
          return void res.end();
        }
        res.end(`got ${b} attempt=${req.headers["x-envoy-attempt-count"]}`);
      });
    });
    await new Promise<void>((r) => be.listen(0, "127.0.0.1", r));
    const port = (be.address() as AddressInfo).port;
    h = await startRuntime({
      clusters: [staticCluster("mixed", [1, port], { lb_policy: "ROUND_ROBIN" })],
      listeners: [
        httpListener("l", [
          {
            name: "v",
            domains: ["*"],
            include_request_attempt_count: true,
            retry_policy: { retry_on: "connect-failure,retriable-status-codes", retriable_status_codes: [503], num_retries: 3 },
            routes: [
              { name: "small", match: { prefix: "/small" }, per_request_buffer_limit_bytes: 1024, route: { cluster: "mixed" } },
              { name: "r", match: { prefix: "/" }, route: { cluster: "mixed" } },
            ],
          },
        ]),
      ],
    });
  });
  afterAll(async () => {
    await h?.close();
    be?.close();
  });

  it("retries a POST after a connect failure and delivers the whole body", async () => {
    for (let i = 0; i < 4; i++) {
      const r = await post(h.port("l"), "/echo", "payload-" + i);
      expect(r.status).toBe(200);
      expect(r.body).toMatch(new RegExp(`^got payload-${i} attempt=[12]$`));
    }
    expect(h.stats.get("cluster.mixed.upstream_rq_retry")).toBeGreaterThanOrEqual(1);
  });

  it("replays a body the upstream already consumed, within the buffer limit", async () => {
    calls = 0;
    const r = await post(h.port("l"), "/always503", "abc");
    expect(r.status).toBe(503);
    // Four attempts (one plus three retries) minus those that hit the refused port; each live one read the body.
    expect(calls).toBeGreaterThanOrEqual(1);
    expect((await h.logs.waitFor((i) => i.requestHeader?.(":path") === "/always503")).responseFlags).toContain("URX");
  });

  it("does not retry once the body outgrew per_request_buffer_limit_bytes", async () => {
    calls = 0;
    const before = h.stats.get("cluster.mixed.upstream_rq_retry") ?? 0;
    let r = { status: 0, body: "" };
    // Until the first attempt lands on the live host (the other endpoint refuses connections).
    for (let i = 0; i < 10 && calls === 0; i++) r = await post(h.port("l"), "/small/always503", "y".repeat(4096));
    expect(calls).toBe(1);
    expect(r.status).toBe(503);
    expect(h.stats.get("cluster.mixed.retry_or_shadow_abandoned")).toBeGreaterThanOrEqual(1);
    expect(h.stats.get("cluster.mixed.upstream_rq_retry")).toBe(before);
  });
});
