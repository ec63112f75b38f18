import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../common/logger.js";
import { request, startOnLoopback } from "../test-util/http-client.js";
import { createHttpbinServer } from "./httpbin-server.js";

const run = promisify(execFile);
let base: string;
let stop: () => Promise<void>;

beforeAll(async () => {
  const started = await startOnLoopback(createHttpbinServer({ logger: silentLogger(), hostname: "httpbin-7f9c-abcde", maxDelaySeconds: 1 }));
  base = started.url;
  stop = started.stop;
});
afterAll(() => stop());

const json = async (path: string, init?: Parameters<typeof request>[1]): Promise<Record<string, unknown>> => {
  const res = await request(`${base}${path}`, init);
  expect(res.headers["content-type"]).toBe("application/json");
  return JSON.parse(res.body) as Record<string, unknown>;
};

describe("httpbin", () => {
  it("/headers reports what curl sent, names title-cased as httpbin does", async () => {
    const { stdout } = await run("curl", [
      "-sS",
      "-H", "x-b3-parentspanid: b30e5a52126e8a3a",
      "-H", "X-B3-SAMPLED: 1",
      "-H", "x-envoy-attempt-count: 1",
      "-H", "x-forwarded-client-cert: By=spiffe://cluster.local/ns/default/sa/httpbin",
      `${base}/headers`,
    ]);
    const headers = (JSON.parse(stdout) as { headers: Record<string, string> }).headers;
    expect(headers).toMatchObject({
      Accept: "*/*",
      Host: base.slice("http://".length),
      "X-B3-Parentspanid": "b30e5a52126e8a3a",
      "X-B3-Sampled": "1",
      "X-Envoy-Attempt-Count": "1",
      "X-Forwarded-Client-Cert": "By=spiffe://cluster.local/ns/default/sa/httpbin",
    });
    expect(headers["User-Agent"]).toMatch(/^curl\//);
    expect(Object.keys(headers)).toEqual([...Object.keys(headers)].sort());
    expect(stdout.startsWith('{\n  "headers": {\n')).toBe(true);
  });

  it("/get reports args (repeated ones as lists), headers, origin and url", async () => {
    const body = await json("/get?a=1&b=2&b=3", { headers: { "x-forwarded-for": "10.1.2.3" } });
    expect(body).toEqual({
      args: { a: "1", b: ["2", "3"] },
      headers: expect.objectContaining({ "X-Forwarded-For": "10.1.2.3" }),
      origin: "10.1.2.3",
      url: `${base}/get?a=1&b=2&b=3`,
    });
  });

  it("/post echoes a JSON body in data and json", async () => {
    const body = await json("/post", { method: "POST", headers: { "content-type": "application/json" }, body: '{"x":[1,2]}' });
    expect(body).toMatchObject({ args: {}, data: '{"x":[1,2]}', files: {}, form: {}, json: { x: [1, 2] } });
  });

  it("/post puts a urlencoded form in form", async () => {
    const { stdout } = await run("curl", ["-sS", "-d", "name=jason&tag=a&tag=b", `${base}/post`]);
    expect(JSON.parse(stdout)).toMatchObject({ data: "", form: { name: "jason", tag: ["a", "b"] }, json: null });
  });

  it("/post refuses other methods with 405", async () => {
    expect((await request(`${base}/post`)).status).toBe(405);
  });

  it("/anything[/...] takes any method and reports it", async () => {
    const body = await json("/anything/a/b?q=1", { method: "PUT", body: "raw text" });
    expect(body).toMatchObject({ method: "PUT", data: "raw text", args: { q: "1" }, url: `${base}/anything/a/b?q=1` });
  });

  it("/status/{code} answers that code, with httpbin's teapot", async () => {
    expect((await request(`${base}/status/503`)).status).toBe(503);
    const teapot = await request(`${base}/status/418`);
    expect(teapot.status).toBe(418);
    expect(teapot.body).toContain("[ teapot ]");
    expect((await request(`${base}/status/401`)).headers["www-authenticate"]).toBe('Basic realm="Fake Realm"');
  });

  it("/status/{a,b} picks among the codes", async () => {
    const seen = new Set<number>();
    for (let i = 0; i < 40 && seen.size < 2; i++) seen.add((await request(`${base}/status/200,504`)).status);
    expect(seen).toEqual(new Set([200, 504]));
    expect((await request(`${base}/status/abc`)).status).toBe(400);
  });

  it("/delay/{s} waits, capped at the maximum", async () => {
    const t0 = Date.now();
    const body = await json("/delay/5?x=1");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(body).toMatchObject({ args: { x: "1" }, url: `${base}/delay/5?x=1` });
    expect((await request(`${base}/delay/soon`)).status).toBe(400);
  });

  it("/ip, /user-agent, /uuid, /hostname", async () => {
    expect(await json("/ip")).toEqual({ origin: "127.0.0.1" });
    expect(await json("/user-agent", { headers: { "user-agent": "curl/8.0.1-DEV" } })).toEqual({ "user-agent": "curl/8.0.1-DEV" });
    expect((await json("/uuid")).uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(await json("/hostname")).toEqual({ hostname: "httpbin-7f9c-abcde" });
  });

  it("/response-headers sets the headers and lists them with a consistent Content-Length", async () => {
    const res = await request(`${base}/response-headers?X-Test=one&X-Test=two&Server=httpbin`);
    expect(res.headers["x-test"]).toBe("one, two");
    expect(res.headers.server).toBe("httpbin");
    const body = JSON.parse(res.body) as Record<string, unknown>;
    expect(body).toEqual({ "Content-Type": "application/json", "X-Test": ["one", "two"], Server: "httpbin", "Content-Length": String(Buffer.byteLength(res.body)) });
  });

  it("/ serves the HTML index, unknown paths 404", async () => {
    const index = await request(`${base}/`);
    expect(index.headers["content-type"]).toMatch(/^text\/html/);
    expect(index.body).toContain("httpbin");
    expect((await request(`${base}/nope`)).status).toBe(404);
  });
});
