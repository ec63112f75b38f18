// request_mirror_policies through the proxy with real upstreams: the mirror
// gets a copy (host suffixed -shadow, same path and body) and the main
// response is untouched by a slow, failing or unreachable mirror.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpListener, staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";
import { closedPort, curl, sleep, startBackend, type Backend } from "../test-util/recording-backend.js";
import { shadowHost } from "./mirror.js";

describe("request mirroring", () => {
  let h: Harness;
  let main: Backend;
  let mirror: Backend;
  let slowMirror: Backend;
  beforeAll(async () => {
    main = await startBackend((r) => ({ status: 200, body: `main got ${r.body}` }));
    mirror = await startBackend(() => ({ status: 500, body: "mirror fails" }));
    slowMirror = await startBackend(() => ({ status: 200, body: "late", delayMs: 1500 }));
    const dead = await closedPort();
    const mirrorOf = (cluster: string, extra: Record<string, unknown> = {}) => ({ cluster, ...extra });
    h = await startRuntime({
      clusters: [staticCluster("main", [main.port]), staticCluster("mirror", [mirror.port]), staticCluster("slow", [slowMirror.port]), staticCluster("dead", [dead])],
      listeners: [
        httpListener("l", [
          {
            name: "v",
            domains: ["*"],
            routes: [
              { match: { prefix: "/copy" }, route: { cluster: "main", request_mirror_policies: [mirrorOf("mirror")] } },
              { match: { prefix: "/slow" }, route: { cluster: "main", request_mirror_policies: [mirrorOf("slow"), mirrorOf("dead")] } },
              { match: { prefix: "/none" }, route: { cluster: "main", request_mirror_policies: [mirrorOf("mirror", { runtime_fraction: { default_value: { numerator: 0 } } })] } },
            ],
          },
        ]),
      ],
    });
  });
  afterAll(async () => {
    await h?.close();
    await main?.close();
    await mirror?.close();
    await slowMirror?.close();
  });

  it("appends -shadow to the host, before the port", () => {
    expect(shadowHost("reviews:9080")).toBe("reviews-shadow:9080");
    expect(shadowHost("reviews")).toBe("reviews-shadow");
    expect(shadowHost("[::1]:80")).toBe("[::1]-shadow:80");
  });

  it("delivers a copy with the body; the mirror's 500 does not reach the client", async () => {
    const r = await curl(h.port("l"), "/copy/x?q=1", { data: "hello-body", host: "svc.local:8000" });
    expect(r.status).toBe(200);
    expect(r.body).toBe("main got hello-body");
    for (let i = 0; i < 100 && mirror.requests.length === 0; i++) await sleep(20);
    expect(mirror.requests).toHaveLength(1);
    const copy = mirror.requests[0];
    expect(copy.headers.host).toBe("svc.local-shadow:8000");
    expect(copy.url).toBe("/copy/x?q=1");
    expect(copy.method).toBe("POST");
    expect(copy.body).toBe("hello-body");
    expect(copy.headers["x-request-id"]).toBe(main.requests.at(-1)!.headers["x-request-id"]);
    await sleep(50);
    expect(h.stats.get("cluster.mirror.upstream_rq_500")).toBe(1);
  });

  it("a slow and an unreachable mirror leave the main response's timing alone", async () => {
    const r = await curl(h.port("l"), "/slow");
    expect(r.status).toBe(200);
    expect(r.ms).toBeLessThan(1000);
    for (let i = 0; i < 100 && slowMirror.requests.length === 0; i++) await sleep(20);
    expect(slowMirror.requests).toHaveLength(1);
    expect(h.stats.get("cluster.dead.upstream_cx_connect_fail")).toBeGreaterThanOrEqual(1);
  });

  it("runtime_fraction 0 % mirrors nothing", async () => {
    const before = mirror.requests.length;
    for (let i = 0; i < 5; i++) expect((await curl(h.port("l"), "/none")).status).toBe(200);
    await sleep(100);
    expect(mirror.requests.length).toBe(before);
  });
});
