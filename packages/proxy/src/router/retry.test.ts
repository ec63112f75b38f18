// Retries through the proxy with curl as the client and real loopback upstreams:
// previous_hosts, x-envoy-attempt-count, back-off bounds, header-controlled
// retries, per-try timeouts, body replay, URX and the retry stats.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpListener, staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";
import { closedPort, curl, startBackend, type Backend, type Reply } from "../test-util/recording-backend.js";

const route = (cluster: string, extra: Record<string, unknown> = {}) => ({ cluster, timeout: "10s", ...extra });

describe("retry_policy with previous_hosts", () => {
  let h: Harness;
  let bad: Backend;
  let good: Backend;
  let refusedPort: number;
  beforeAll(async () => {
    bad = await startBackend(() => ({ status: 503, body: "bad" }));
    good = await startBackend((r) => ({ status: 200, body: `good attempt=${r.headers["x-envoy-attempt-count"]}` }));
    refusedPort = await closedPort();
    // By name: the PreviousHostsPredicate type is not in @weft/xds-api's JSON registry (over xDS, its typed_config Any is matched by type URL).
    const previousHosts = [{ name: "envoy.retry_host_predicates.previous_hosts" }];
    h = await startRuntime({
      clusters: [
        staticCluster("pair", [bad.port, good.port], { lb_policy: "RANDOM" }),
        staticCluster("pair2", [bad.port, good.port], { lb_policy: "RANDOM" }),
        staticCluster("half-down", [refusedPort, good.port], { lb_policy: "RANDOM" }),
      ],
      listeners: [
        httpListener("l", [
          {
            name: "v",
            domains: ["*"],
            include_request_attempt_count: true,
            include_attempt_count_in_response: true,
            routes: [
              {
                match: { prefix: "/ph" },
                route: route("pair", { retry_policy: { retry_on: "5xx", num_retries: 1, retry_host_predicate: previousHosts, host_selection_retry_max_attempts: 20 } }),
              },
              { match: { prefix: "/nopred" }, route: route("pair2", { retry_policy: { retry_on: "5xx", num_retries: 1 } }) },
              {
                // Istio's default retry policy for sidecar routes.
                match: { prefix: "/istio" },
                route: route("half-down", {
                  retry_policy: {
                    retry_on: "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes",
                    num_retries: 2,
                    retry_host_predicate: previousHosts,
                    host_selection_retry_max_attempts: 5,
                  },
                }),
              },
            ],
          },
        ]),
      ],
    });
  });
  afterAll(async () => {
    await h?.close();
    await bad?.close();
    await good?.close();
  });

  it("retries on the other host, which sees x-envoy-attempt-count: 2; never back to the failed one", async () => {
    const results = [];
    for (let i = 0; i < 20; i++) results.push(await curl(h.port("l"), `/ph/${i}`));
    for (const r of results) expect(r.status).toBe(200);
    const badHits = bad.requests.filter((r) => r.url.startsWith("/ph/"));
    const goodHits = good.requests.filter((r) => r.url.startsWith("/ph/"));
    // The failed host only ever saw first attempts; each of its requests was retried once on the good host.
    expect(badHits.length).toBeGreaterThan(0);
    expect(badHits.every((r) => r.headers["x-envoy-attempt-count"] === "1")).toBe(true);
    expect(goodHits.filter((r) => r.headers["x-envoy-attempt-count"] === "2").map((r) => r.url).sort()).toEqual(badHits.map((r) => r.url).sort());
    for (const r of results) expect(r.headers["x-envoy-attempt-count"]).toBe(r.body.endsWith("attempt=2") ? "2" : "1");
    expect(h.stats.get("cluster.pair.upstream_rq_retry")).toBe(badHits.length);
    expect(h.stats.get("cluster.pair.upstream_rq_retry_success")).toBe(badHits.length);
    expect(h.stats.get("cluster.pair.upstream_rq_503")).toBe(badHits.length);
  });

  it("without the predicate a retry can land on the failed host again: 503 with URX", async () => {
    const results = [];
    for (let i = 0; i < 30; i++) results.push(await curl(h.port("l"), `/nopred/${i}`));
    const failed = results.filter((r) => r.status === 503);
    // P(no retry picks the bad host twice in 30 requests) = 0.75^30 ≈ 2e-4.
    expect(failed.length).toBeGreaterThan(0);
    for (const f of failed) expect(f.headers["x-envoy-attempt-count"]).toBe("2");
    const log = await h.logs.waitFor((i) => i.upstreamCluster === "pair2" && i.responseCode === 503);
    expect(log.responseFlags).toEqual(["URX"]);
    expect(h.stats.get("cluster.pair2.upstream_rq_retry_limit_exceeded")).toBe(failed.length);
  });

  it("Istio's default policy hides a refused endpoint (connect-failure → next host)", async () => {
    for (let i = 0; i < 20; i++) {
      const r = await curl(h.port("l"), `/istio/${i}`);
      expect(r.status).toBe(200);
    }
    expect(h.stats.get("cluster.half-down.upstream_cx_connect_fail")).toBeGreaterThan(0);
    expect(h.stats.get("cluster.half-down.upstream_rq_retry")).toBe(h.stats.get("cluster.half-down.upstream_cx_connect_fail"));
  });
});

describe("retry back-off, headers, per-try timeout and body replay", () => {
  let flaky: Backend;
  const seen = new Map<string, number>();
  const start = async (random: () => number): Promise<Harness> =>
    startRuntime(
      {
        clusters: [staticCluster("flaky", [flaky.port])],
        listeners: [
          httpListener("l", [
            {
              name: "v",
              domains: ["*"],
              include_request_attempt_count: true,
              routes: [
                { match: { prefix: "/backoff" }, route: route("flaky", { retry_policy: { retry_on: "5xx", num_retries: 2, retry_back_off: { base_interval: "0.2s", max_interval: "1s" } } }) },
                { match: { prefix: "/pertry" }, route: route("flaky", { retry_policy: { retry_on: "5xx", num_retries: 1, per_try_timeout: "0.3s" } }) },
                { match: { prefix: "/body" }, route: route("flaky", { retry_policy: { retry_on: "5xx", num_retries: 2 } }) },
                { match: { prefix: "/idle" }, route: route("flaky", { retry_policy: { retry_on: "reset", num_retries: 1, per_try_idle_timeout: "0.3s" } }) },
                { match: { prefix: "/" }, route: route("flaky") },
              ],
            },
            // use_remote_address: curl's loopback address makes the request internal, so the
            // x-envoy-retry-* headers are honoured (control-headers.test.ts: when they are not).
          ], { use_remote_address: true }),
        ],
      },
      { random },
    );
  beforeAll(async () => {
    // Fails the first `n` attempts of each request id (n from the path), delays when asked.
    flaky = await startBackend((r): Reply => {
      const id = String(r.headers["x-request-id"]);
      const n = (seen.get(id) ?? 0) + 1;
      seen.set(id, n);
      const fails = Number(/fail=(\d+)/.exec(r.url)?.[1] ?? 0);
      const slowFirst = r.url.includes("slowfirst") && n === 1;
      if (slowFirst) return { status: 200, body: "slow", delayMs: 1000 };
      if (r.url.includes("code=")) return { status: n <= fails ? Number(/code=(\d+)/.exec(r.url)![1]) : 200, body: `n=${n}`, headers: r.url.includes("hdr") && n <= fails ? { "x-try-again": "1" } : {} };
      return { status: n <= fails ? 503 : 200, body: `n=${n} body=${r.body}` };
    });
  });
  afterAll(async () => {
    await flaky?.close();
  });

  it("backs off with full jitter: attempt gaps bounded by base·2^(n-1) (random → 0.99 gives ~198 ms then ~396 ms)", async () => {
    const h = await start(() => 0.99);
    try {
      const r = await curl(h.port("l"), "/backoff?fail=2");
      expect(r.status).toBe(200);
      expect(r.body).toMatch(/^n=3/);
      const tries = flaky.requests.filter((x) => x.url === "/backoff?fail=2");
      expect(tries.map((x) => x.headers["x-envoy-attempt-count"])).toEqual(["1", "2", "3"]);
      const gap1 = tries[1].at - tries[0].at;
      const gap2 = tries[2].at - tries[1].at;
      expect(gap1).toBeGreaterThanOrEqual(195);
      expect(gap1).toBeLessThan(200 + 150);
      expect(gap2).toBeGreaterThanOrEqual(393);
      expect(gap2).toBeLessThan(400 + 150);
      expect(h.stats.get("cluster.flaky.upstream_rq_retry_backoff_exponential")).toBe(2);
    } finally {
      await h.close();
    }
  });

  it("with random → 0 the back-off is immediate", async () => {
    const h = await start(() => 0);
    try {
      const r = await curl(h.port("l"), "/backoff?fail=2&fast");
      expect(r.status).toBe(200);
      const tries = flaky.requests.filter((x) => x.url === "/backoff?fail=2&fast");
      // Three attempts in far less than the 594 ms of back-off the 0.99 run waited.
      expect(tries[2].at - tries[0].at).toBeLessThan(300);
    } finally {
      await h.close();
    }
  });

  it("x-envoy-retry-on / x-envoy-max-retries / x-envoy-retriable-status-codes / -header-names drive a route without a policy", async () => {
    const h = await start(Math.random);
    try {
      const a = await curl(h.port("l"), "/hdr1?fail=3", { headers: { "x-envoy-retry-on": "5xx", "x-envoy-max-retries": "3" } });
      expect(a.status).toBe(200);
      expect(a.body).toMatch(/^n=4/);
      const b = await curl(h.port("l"), "/hdr2?fail=5", { headers: { "x-envoy-retry-on": "gateway-error", "x-envoy-max-retries": "2" } });
      expect(b.status).toBe(503);
      expect((await h.logs.waitFor((i) => i.requestHeader?.(":path") === "/hdr2?fail=5")).responseFlags).toEqual(["URX"]);
      const c = await curl(h.port("l"), "/hdr3?fail=1&code=418", { headers: { "x-envoy-retry-on": "retriable-status-codes", "x-envoy-retriable-status-codes": "418" } });
      expect(c.status).toBe(200);
      const d = await curl(h.port("l"), "/hdr4?fail=1&code=200&hdr", { headers: { "x-envoy-retry-on": "retriable-headers", "x-envoy-retriable-header-names": "x-try-again" } });
      expect(d.body).toBe("n=2");
      // No retry_on at all: x-envoy-max-retries alone does nothing.
      const e = await curl(h.port("l"), "/hdr5?fail=1", { headers: { "x-envoy-max-retries": "3" } });
      expect(e.status).toBe(503);
      expect(h.stats.get("cluster.flaky.upstream_rq_retry_limit_exceeded")).toBe(1);
    } finally {
      await h.close();
    }
  });

  it("per_try_timeout abandons a slow attempt and retries", async () => {
    const h = await start(Math.random);
    try {
      const r = await curl(h.port("l"), "/pertry?slowfirst");
      expect(r.status).toBe(200);
      expect(r.body).toMatch(/^n=2/);
      expect(r.ms).toBeLessThan(900);
      expect(h.stats.get("cluster.flaky.upstream_rq_per_try_timeout")).toBe(1);
      const tries = flaky.requests.filter((x) => x.url === "/pertry?slowfirst");
      expect(tries[0].headers["x-envoy-expected-rq-timeout-ms"]).toBe("300");
    } finally {
      await h.close();
    }
  });

  it("per_try_idle_timeout abandons an attempt that went quiet and retries", async () => {
    const h = await start(Math.random);
    try {
      const r = await curl(h.port("l"), "/idle?slowfirst");
      expect(r.status).toBe(200);
      expect(r.body).toMatch(/^n=2/);
      expect(r.ms).toBeLessThan(900);
      expect(h.stats.get("cluster.flaky.upstream_rq_per_try_idle_timeout")).toBe(1);
    } finally {
      await h.close();
    }
  });

  it("replays the whole request body on each attempt", async () => {
    const h = await start(Math.random);
    try {
      const payload = "x".repeat(64 * 1024) + "-end";
      const r = await curl(h.port("l"), "/body?fail=2", { data: payload });
      expect(r.status).toBe(200);
      const tries = flaky.requests.filter((x) => x.url === "/body?fail=2");
      expect(tries).toHaveLength(3);
      for (const t of tries) expect(t.body).toBe(payload);
      expect(r.body).toBe(`n=3 body=${payload}`);
    } finally {
      await h.close();
    }
  });
});
