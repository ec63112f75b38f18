// Circuit breaking: max_requests overflow answers 503 UO as Envoy does.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpListener, staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";

function get(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port, path: "/", agent: false }, (res) => {
        let b = "";
        res.on("data", (d) => (b += d));
        res.on("end", () => resolve({ status: res.statusCode!, body: b }));
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
    expect((await h.logs.waitFor((i) => i.responseFlags.includes("UO"))).responseCodeDetails).toBe("upstream_reset_before_response_started{overflow}");
    expect(h.stats.get("cluster.small.upstream_rq_pending_overflow")).toBe(1);
  });
});
