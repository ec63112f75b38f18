import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../common/logger.js";
import { request, startOnLoopback } from "../test-util/http-client.js";
import { hasTestdata, testdataDir } from "../test-util/testdata.js";
import { createHttpbinServer } from "./httpbin-server.js";

const FILE = "istio-sample-traffic.md";

// What httpbin showed for sleep → httpbin through two Istio sidecars, captured
// from a real mesh: the same headers, sent lower-case as Envoy sends them over
// HTTP/1.1, must come back with exactly those names and values.
describe.skipIf(!hasTestdata(FILE))("httpbin against Istio's captured /headers", () => {
  let base: string;
  let stop: () => Promise<void>;
  beforeAll(async () => ({ url: base, stop } = await startOnLoopback(createHttpbinServer({ logger: silentLogger(), hostname: "httpbin" }))));
  afterAll(() => stop());

  it("reports the captured headers with the captured spellings", async () => {
    const md = readFileSync(resolve(testdataDir(), FILE), "utf8");
    const block = /## What httpbin sees[\s\S]*?```json\n(.*)\n```/.exec(md);
    expect(block, "the /headers capture in the testdata").not.toBeNull();
    const captured = JSON.parse(block![1]!) as Record<string, string>;
    const sent: Record<string, string> = {};
    for (const [name, value] of Object.entries(captured)) sent[name.toLowerCase()] = value;
    const res = await request(`${base}/headers`, { headers: sent });
    const { headers } = JSON.parse(res.body) as { headers: Record<string, string> };
    const { Host: _host, Connection: _connection, ...rest } = headers;
    expect(rest).toEqual(captured);
  });
});
