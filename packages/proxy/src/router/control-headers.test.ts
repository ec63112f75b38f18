// The router's request control headers (x-envoy-retry-on, x-envoy-max-retries,
// x-envoy-upstream-rq-timeout-ms, x-envoy-upstream-rq-per-try-timeout-ms), as
// Envoy and therefore Istio treat them, with curl as the client: honoured only
// from a request the connection manager judges internal; on a sidecar listener
// (no use_remote_address, no x-forwarded-for) an app's override is dropped and
// the route's policy applies (istio/istio#19550); and, honoured or not, they
// never reach the upstream — the router consumes what it read.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { curl, startBackend, type Backend } from "../test-util/recording-backend.js";
import { httpListener, staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";

const RETRY_HEADERS = ["x-envoy-retry-on", "x-envoy-max-retries", "x-envoy-retriable-status-codes", "x-envoy-upstream-rq-per-try-timeout-ms"];

describe("router control headers: internal requests only, consumed by the router", () => {
  let h: Harness;
  let upstream: Backend;
  const attempts = new Map<string, number>();

  beforeAll(async () => {
    // Fails the first `fail` attempts of a request (per x-request-id); `slow` answers after 600 ms.
    upstream = await startBackend((r) => {
      const id = String(r.headers["x-request-id"]);
      const n = (attempts.get(id) ?? 0) + 1;
      attempts.set(id, n);
      const fail = Number(/fail=(\d+)/.exec(r.url)?.[1] ?? 0);
      if (r.url.includes("slow")) return { status: 200, body: `n=${n}`, delayMs: 600 };
      return { status: n <= fail ? 503 : 200, body: `n=${n}` };
    });
    const vhosts = [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "up", timeout: "0.3s" } }] }];
    h = await startRuntime({
      clusters: [staticCluster("up", [upstream.port])],
      listeners: [
        // An Istio sidecar's HCM: no use_remote_address.
        httpListener("sidecar", vhosts),
        // A front proxy reached over loopback: 127.0.0.1 is internal.
        httpListener("front", vhosts, { use_remote_address: true }),
      ],
    });
  });

  afterAll(async () => {
    await h?.close();
    await upstream?.close();
  });

  const lastSeen = (path: string) => upstream.requests.filter((r) => r.url === path).at(-1)!;

  it("an internal request's retry headers drive retries, and the upstream never sees them", async () => {
    const r = await curl(h.port("front"), "/a?fail=2", { headers: { "x-envoy-retry-on": "5xx", "x-envoy-max-retries": "2", "x-envoy-retriable-status-codes": "503" } });
    expect(r.status).toBe(200);
    expect(r.body).toBe("n=3");
    const seen = lastSeen("/a?fail=2");
    expect(seen.headers["x-envoy-internal"]).toBe("true");
    for (const k of RETRY_HEADERS) expect(seen.headers[k], k).toBeUndefined();
  });

  it("a sidecar request's retry headers are dropped: the route has no retry policy, so one attempt", async () => {
    const r = await curl(h.port("sidecar"), "/b?fail=1", { headers: { "x-envoy-retry-on": "5xx", "x-envoy-max-retries": "3" } });
    expect(r.status).toBe(503);
    expect(upstream.requests.filter((x) => x.url === "/b?fail=1")).toHaveLength(1);
    for (const k of RETRY_HEADERS) expect(lastSeen("/b?fail=1").headers[k], k).toBeUndefined();
  });

  it("behind one internal hop (x-forwarded-for: 10.x) the sidecar honours them", async () => {
    const r = await curl(h.port("sidecar"), "/c?fail=1", { headers: { "x-forwarded-for": "10.1.2.3", "x-envoy-retry-on": "5xx" } });
    expect(r.status).toBe(200);
    expect(r.body).toBe("n=2");
  });

  it("x-envoy-upstream-rq-timeout-ms: lengthens an internal request's timeout; on the sidecar the route's 0.3 s holds", async () => {
    const inside = await curl(h.port("front"), "/slow-1", { headers: { "x-envoy-upstream-rq-timeout-ms": "2000" } });
    expect(inside.status).toBe(200);
    const seen = lastSeen("/slow-1");
    expect(seen.headers["x-envoy-upstream-rq-timeout-ms"]).toBeUndefined();
    expect(seen.headers["x-envoy-expected-rq-timeout-ms"]).toBe("2000");
    const outside = await curl(h.port("sidecar"), "/slow-2", { headers: { "x-envoy-upstream-rq-timeout-ms": "2000" } });
    expect(outside.status).toBe(504);
    expect(lastSeen("/slow-2").headers["x-envoy-expected-rq-timeout-ms"]).toBe("300");
  });

  it("a malformed timeout header is ignored and passed on, as Envoy's router leaves it", async () => {
    const r = await curl(h.port("front"), "/d", { headers: { "x-envoy-upstream-rq-timeout-ms": "soon" } });
    expect(r.status).toBe(200);
    const seen = lastSeen("/d");
    expect(seen.headers["x-envoy-upstream-rq-timeout-ms"]).toBe("soon");
    expect(seen.headers["x-envoy-expected-rq-timeout-ms"]).toBe("300");
  });
});
