// The router filter's suppress_envoy_headers (Istio's proxyHeaders.envoyDebugHeaders.disabled)
// with curl as the client: without it the router adds x-envoy-upstream-service-time to the
// response, x-envoy-expected-rq-timeout-ms upstream and x-envoy-overloaded to an overflow 503;
// with it, none of them. Router fields Weft does not do are reported.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROUTER_TYPE_URL } from "../http/http-filter.js";
import { curl, startBackend, type Backend } from "../test-util/recording-backend.js";
import { httpListener, staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";

const routerFilter = (config: Record<string, unknown>) => ({ http_filters: [{ name: "envoy.filters.http.router", typed_config: { "@type": ROUTER_TYPE_URL, ...config } }] });

describe("router options: suppress_envoy_headers", () => {
  let h: Harness;
  let slow: Backend;

  beforeAll(async () => {
    slow = await startBackend((r) => ({ status: 200, body: "done", delayMs: r.url.startsWith("/slow") ? 300 : 0 }));
    const vhosts = [{ name: "v", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "one-at-a-time", timeout: "7s" } }] }];
    h = await startRuntime({
      clusters: [staticCluster("one-at-a-time", [slow.port], { circuit_breakers: { thresholds: [{ max_requests: 1 }] } })],
      listeners: [
        httpListener("plain", vhosts),
        httpListener("quiet", vhosts, routerFilter({ suppress_envoy_headers: true, respect_expected_rq_timeout: true, strict_check_headers: ["x-envoy-max-retries"] })),
      ],
    });
  });

  afterAll(async () => {
    await h?.close();
    await slow?.close();
  });

  async function overflowOn(listener: string) {
    const first = curl(h.port(listener), `/slow/${listener}`);
    await new Promise((r) => setTimeout(r, 100));
    const second = await curl(h.port(listener), `/second/${listener}`);
    await first;
    return second;
  }

  it("without it: x-envoy-upstream-service-time, x-envoy-expected-rq-timeout-ms upstream, x-envoy-overloaded on overflow", async () => {
    const r = await curl(h.port("plain"), "/a");
    expect(r.status).toBe(200);
    expect(r.headers["x-envoy-upstream-service-time"]).toMatch(/^\d+$/);
    expect(slow.requests.find((x) => x.url === "/a")!.headers["x-envoy-expected-rq-timeout-ms"]).toBe("7000");
    const refused = await overflowOn("plain");
    expect(refused.status).toBe(503);
    expect(refused.headers["x-envoy-overloaded"]).toBe("true");
  });

  it("with it: none of the three, the overflow still 503 UO", async () => {
    const r = await curl(h.port("quiet"), "/b");
    expect(r.status).toBe(200);
    expect(r.headers["x-envoy-upstream-service-time"]).toBeUndefined();
    expect(slow.requests.find((x) => x.url === "/b")!.headers["x-envoy-expected-rq-timeout-ms"]).toBeUndefined();
    const refused = await overflowOn("quiet");
    expect(refused.status).toBe(503);
    expect(refused.body).toBe("upstream connect error or disconnect/reset before headers. reset reason: overflow");
    expect(refused.headers["x-envoy-overloaded"]).toBeUndefined();
  });

  it("reports the router fields it does not implement", () => {
    const fields = h.reports.map((x) => x.field);
    expect(fields).toContain("router.respect_expected_rq_timeout");
    expect(fields).toContain("router.strict_check_headers");
  });
});
