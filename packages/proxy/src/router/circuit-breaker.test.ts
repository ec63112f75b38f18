// Circuit breaking: max_requests, max_connections + max_pending_requests and
// max_retries / retry_budget overflow answer 503 UO (or flag UO) as Envoy does,
// with Envoy's overflow counters and circuit_breakers.<priority>.*_open gauges.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpListener, staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";
import { curl, startBackend, type Backend } from "../test-util/recording-backend.js";
import { poller } from "../test-util/until.js";

function get(port: number): Promise<{ status: number; body: string; overloaded?: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path: "/", agent: false }, (res) => {
        let b = "";
        res.on("data", (d) => (b += d));
        const overloaded = res.headers["x-envoy-overloaded"] as string | undefined;
        res.on("end", () => resolve({ status: res.statusCode!, body: b, ...(overloaded ? { overloaded } : {}) }));
      })
      .on("error", reject);
  });
}

describe("circuit breakers", () => {
  let h: Harness;
  let be: http.Server;
  beforeAll(async () => {
    be = http.createServer((_q, res) => setTimeout(() => res.end("done"), 300));
    await new Promise<void>((r) => be.listen(0, "127.0.0.1", r));
    h = await startRuntime({
      clusters: [staticCluster("small", [(be.address() as AddressInfo).port], { circuit_breakers: { thresholds: [{ max_requests: 1 }] } })],
      listeners: [httpListener("l", [{ name: "v", domains: ["*"], routes: [{ name: "r", match: { prefix: "/" }, route: { cluster: "small" } }] }])],
    });
  });
  afterAll(async () => {
    await h?.close();
    be?.close();
  });

  it("answers 503 UO once max_requests are in flight", async () => {
    const [a, b] = await Promise.all([get(h.port("l")), new Promise((r) => setTimeout(r, 50)).then(() => get(h.port("l")))]);
    expect(a).toEqual({ status: 200, body: "done" });
    expect(b.status).toBe(503);
    expect(b.body).toBe("upstream connect error or disconnect/reset before headers. reset reason: overflow");
    expect(b.overloaded).toBe("true");
    expect((await h.logs.waitFor((i) => i.responseFlags.includes("UO"))).responseCodeDetails).toBe("upstream_reset_before_response_started{overflow}");
    expect(h.stats.get("cluster.small.upstream_rq_pending_overflow")).toBe(1);
  });
});

const poll = poller({ timeoutMs: 5000, stepMs: 10 });
const until = (cond: () => boolean) => poll(cond, "the circuit breaker's state");

describe("circuit breakers: pending queue, retries, priorities", () => {
  let h: Harness;
  let slow: Backend;
  let failing: Backend;
  beforeAll(async () => {
    slow = await startBackend(() => ({ status: 200, body: "slow", delayMs: 1500 }));
    failing = await startBackend(() => ({ status: 503, body: "no" }));
    const cb = (t: Record<string, unknown>[]) => ({ circuit_breakers: { thresholds: t } });
    h = await startRuntime({
      clusters: [
        staticCluster("gated", [slow.port], cb([{ max_connections: 1, max_pending_requests: 1 }])),
        staticCluster("noretry", [failing.port], cb([{ max_retries: 0 }])),
        staticCluster("budget", [failing.port], cb([{ retry_budget: { budget_percent: { value: 0 }, min_retry_concurrency: 0 } }])),
        staticCluster("prio", [slow.port], cb([{ max_requests: 1 }, { priority: "HIGH", max_requests: 5, track_remaining: true }])),
      ],
      listeners: [
        httpListener("l", [
          {
            name: "v",
            domains: ["*"],
            routes: [
              { match: { prefix: "/gated" }, route: { cluster: "gated" } },
              { match: { prefix: "/noretry" }, route: { cluster: "noretry", retry_policy: { retry_on: "5xx", num_retries: 2 } } },
              { match: { prefix: "/budget" }, route: { cluster: "budget", retry_policy: { retry_on: "5xx", num_retries: 2 } } },
              { match: { prefix: "/high" }, route: { cluster: "prio", priority: "HIGH" } },
              { match: { prefix: "/default" }, route: { cluster: "prio" } },
            ],
          },
        ]),
      ],
    });
  });
  afterAll(async () => {
    await h?.close();
    await slow?.close();
    await failing?.close();
  });

  it("queues past max_connections (upstream_cx_overflow) and refuses past max_pending_requests (UO, upstream_rq_pending_overflow)", async () => {
    const p = h.port("l");
    const first = curl(p, "/gated/1");
    await until(() => slow.requests.some((r) => r.url === "/gated/1"));
    const second = curl(p, "/gated/2");
    await until(() => h.stats.get("cluster.gated.upstream_rq_pending_active") === 1);
    expect(h.stats.get("cluster.gated.circuit_breakers.default.rq_pending_open")).toBe(1);
    expect(h.stats.get("cluster.gated.circuit_breakers.default.cx_open")).toBe(1);
    const third = await curl(p, "/gated/3");
    expect(third.status).toBe(503);
    expect(third.body).toBe("upstream connect error or disconnect/reset before headers. reset reason: overflow");
    expect(third.headers["x-envoy-overloaded"]).toBe("true");
    const [a, b] = await Promise.all([first, second]);
    expect([a.status, b.status]).toEqual([200, 200]);
    // The second waited for the first's connection: one at a time upstream.
    expect(slow.requests.filter((r) => r.url.startsWith("/gated")).map((r) => r.url)).toEqual(["/gated/1", "/gated/2"]);
    expect(h.stats.get("cluster.gated.upstream_cx_overflow")).toBe(1);
    expect(h.stats.get("cluster.gated.upstream_rq_pending_overflow")).toBe(1);
    expect(h.stats.get("cluster.gated.upstream_rq_pending_total")).toBe(1);
    expect(h.stats.get("cluster.gated.upstream_rq_pending_active")).toBe(0);
    expect(h.stats.get("cluster.gated.circuit_breakers.default.rq_pending_open")).toBe(0);
    expect((await h.logs.waitFor((i) => i.requestHeader?.(":path") === "/gated/3")).responseFlags).toEqual(["UO"]);
  });

  it("max_retries 0: the retriable 503 goes through flagged UO, upstream_rq_retry_overflow counts it", async () => {
    const r = await curl(h.port("l"), "/noretry");
    expect(r.status).toBe(503);
    expect(r.body).toBe("no");
    expect(h.stats.get("cluster.noretry.upstream_rq_retry_overflow")).toBe(1);
    expect(h.stats.get("cluster.noretry.upstream_rq_retry")).toBe(0);
    expect((await h.logs.waitFor((i) => i.requestHeader?.(":path") === "/noretry")).responseFlags).toEqual(["UO"]);
  });

  it("retry_budget replaces max_retries (0 % with no minimum allows none)", async () => {
    const r = await curl(h.port("l"), "/budget");
    expect(r.status).toBe(503);
    expect(h.stats.get("cluster.budget.upstream_rq_retry_overflow")).toBe(1);
  });

  it("routes with priority HIGH use the high thresholds", async () => {
    const p = h.port("l");
    const results = await Promise.all([curl(p, "/high/1"), curl(p, "/high/2"), curl(p, "/high/3")]);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    const d1 = curl(p, "/default/1");
    await until(() => slow.requests.some((r) => r.url === "/default/1"));
    const d = await Promise.all([d1, curl(p, "/default/2")]);
    expect(d.map((r) => r.status)).toEqual([200, 503]);
    expect(h.stats.get("cluster.prio.circuit_breakers.high.remaining_rq")).toBe(5);
    const status = h.runtime.clusterStatus().find((c) => c.name === "prio")!;
    expect(status.circuitBreakers).toMatchObject({ "default_priority::max_requests": 1, "high_priority::max_requests": 5, "default_priority::max_retries": 3 });
  });
});
