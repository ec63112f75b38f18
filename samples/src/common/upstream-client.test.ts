import { afterEach, describe, expect, it } from "vitest";
import { startFakeUpstream } from "../test-util/http-client.js";
import { createUpstreamClient, UpstreamTimeoutError } from "./upstream-client.js";

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(stops.splice(0).map((s) => s()));
});

describe("createUpstreamClient()", () => {
  it("GETs the URL directly with Host set to its authority", async () => {
    const up = await startFakeUpstream(() => ({ status: 200, body: { ok: true } }));
    stops.push(up.stop);
    const res = await createUpstreamClient({}).get(`${up.url}/details/0`, { headers: { "x-request-id": "abc" }, timeoutMs: 2000 });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ ok: true });
    expect(up.seen[0]!.url).toBe("/details/0");
    expect(up.seen[0]!.headers.host).toBe(`127.0.0.1:${up.port}`);
    expect(up.seen[0]!.headers["x-request-id"]).toBe("abc");
  });

  it("sends absolute-form requests through HTTP_PROXY with the service's Host", async () => {
    const proxy = await startFakeUpstream(() => ({ status: 200, body: { via: "proxy" } }));
    stops.push(proxy.stop);
    const client = createUpstreamClient({ HTTP_PROXY: proxy.url });
    const res = await client.get("http://details:9080/details/0", { timeoutMs: 2000 });
    expect(res.status).toBe(200);
    expect(proxy.seen[0]!.url).toBe("http://details:9080/details/0");
    expect(proxy.seen[0]!.headers.host).toBe("details:9080");
  });

  it("bypasses the proxy for NO_PROXY hosts", () => {
    const client = createUpstreamClient({ http_proxy: "127.0.0.1:15001", NO_PROXY: "localhost,.internal" });
    expect(client.proxyFor("http://details:9080/")?.host).toBe("127.0.0.1:15001");
    expect(client.proxyFor("http://localhost:9080/")).toBeUndefined();
    expect(client.proxyFor("http://a.internal:9080/")).toBeUndefined();
    expect(createUpstreamClient({ HTTP_PROXY: "http://p:1", NO_PROXY: "*" }).proxyFor("http://x/")).toBeUndefined();
  });

  it("rejects with UpstreamTimeoutError when the answer is late", async () => {
    const up = await startFakeUpstream(() => ({ status: 200, body: {}, delayMs: 1000 }));
    stops.push(up.stop);
    await expect(createUpstreamClient({}).get(`${up.url}/slow`, { timeoutMs: 100 })).rejects.toBeInstanceOf(UpstreamTimeoutError);
  });

  it("rejects on a refused connection", async () => {
    const up = await startFakeUpstream(() => ({ status: 200, body: {} }));
    await up.stop();
    await expect(createUpstreamClient({}).get(`${up.url}/`, { timeoutMs: 1000 })).rejects.toThrow(/ECONNREFUSED/);
  });

  it("names a bad HTTP_PROXY", () => {
    expect(() => createUpstreamClient({ HTTP_PROXY: "https://p:1" })).toThrow(/HTTP_PROXY must be an http:\/\/ URL/);
  });
});
