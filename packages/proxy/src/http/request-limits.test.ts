import { describe, expect, it } from "vitest";
import * as http2 from "node:http2";
import { create } from "@bufbuild/protobuf";
import { HttpConnectionManagerSchema } from "@weft/xds-api/gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { ResourceRejectedError } from "../contracts.js";
import { compileRequestLimits } from "./request-limits.js";
import { httpListener, staticCluster, startRuntime } from "../test-util/runtime-harness.js";
import { startEchoUpstream } from "../test-util/hostile-proxy.js";
import { rawRequest } from "../test-util/raw-http1.js";

const compile = (init: Record<string, unknown>, reports: string[] = []) =>
  compileRequestLimits(create(HttpConnectionManagerSchema, { statPrefix: "t", ...init }), "listener-a", "filter_chains[0].filters[0]", (f, d) => void reports.push(`${f}: ${d}`));

describe("compileRequestLimits()", () => {
  it("has Weft's stricter defaults", () => {
    expect(compile({})).toMatchObject({
      maxRequestHeadersBytes: 60 * 1024,
      maxHeadersCount: 100,
      headersWithUnderscores: "allow",
      requestHeadersTimeoutMs: 10_000,
      maxRequestsPerConnection: 0,
      path: { normalize: true, mergeSlashes: true, escapedSlashes: "keep" },
      http2: { maxConcurrentStreams: 100, initialStreamWindowSize: 64 * 1024, initialConnectionWindowSize: 1 << 20, enforceConnectionWindow: false, maxOutboundControlFrames: 1000, maxOutboundFrames: 10_000 },
    });
  });

  it("reads the Envoy fields", () => {
    const l = compile({
      maxRequestHeadersKb: 8,
      requestHeadersTimeout: { seconds: 0n, nanos: 0 },
      normalizePath: false,
      pathWithEscapedSlashesAction: 4,
      stripMatchingHostPort: true,
      commonHttpProtocolOptions: { maxHeadersCount: 20, headersWithUnderscoresAction: 2, maxRequestsPerConnection: 5 },
      http2ProtocolOptions: { maxConcurrentStreams: 7, initialStreamWindowSize: 70_000, initialConnectionWindowSize: 200_000, maxOutboundControlFrames: 50 },
    });
    expect(l).toMatchObject({
      maxRequestHeadersBytes: 8192,
      maxHeadersCount: 20,
      headersWithUnderscores: "drop",
      requestHeadersTimeoutMs: 0,
      maxRequestsPerConnection: 5,
      stripMatchingHostPort: true,
      path: { normalize: false, escapedSlashes: "unescape_and_forward" },
      http2: { maxConcurrentStreams: 7, initialStreamWindowSize: 70_000, initialConnectionWindowSize: 200_000, enforceConnectionWindow: true, maxOutboundControlFrames: 50 },
    });
  });

  it("reports normalize_path: false", () => {
    const reports: string[] = [];
    compile({ normalizePath: false }, reports);
    expect(reports.join()).toContain("normalize_path");
  });

  it.each([
    [{ maxRequestHeadersKb: 9000 }, "max_request_headers_kb"],
    [{ commonHttpProtocolOptions: { maxHeadersCount: 0 } }, "max_headers_count"],
    [{ http2ProtocolOptions: { initialStreamWindowSize: 100 } }, "http2_protocol_options.initial_stream_window_size"],
    [{ http2ProtocolOptions: { maxConcurrentStreams: 0 } }, "http2_protocol_options.max_concurrent_streams"],
  ])("rejects %j naming the field", (init, field) => {
    let err: unknown;
    try {
      compile(init);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ResourceRejectedError);
    expect((err as Error).message).toContain(field);
  });
});

describe("max_requests_per_connection", () => {
  it("closes an HTTP/1.1 connection after N requests and sends GOAWAY on HTTP/2", async () => {
    const up = await startEchoUpstream();
    const h = await startRuntime({
      listeners: [httpListener("l", [{ name: "a", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "up" } }] }], { common_http_protocol_options: { max_requests_per_connection: 2 } })],
      clusters: [staticCluster("up", [up.port])],
    });
    try {
      const port = h.port("l");
      const req = "GET /a HTTP/1.1\r\nHost: a\r\n\r\n";
      const r = await rawRequest(port, req + req + req, 3000);
      expect(r.raw.match(/HTTP\/1\.1 200/g)).toHaveLength(2);
      expect(r.raw.toLowerCase()).toContain("connection: close");
      expect(r.closed, "HTTP/1.1 connection closed").toBe(true);

      const client = http2.connect(`http://127.0.0.1:${port}`);
      client.on("error", () => {});
      const goaway = new Promise<boolean>((resolve) => {
        client.once("goaway", () => resolve(true));
        setTimeout(() => resolve(false), 3000);
      });
      const get = () =>
        new Promise<number>((resolve) => {
          const s = client.request({ ":path": "/h2" });
          s.on("response", (hd) => resolve(Number(hd[":status"])));
          s.on("error", () => resolve(0));
          s.resume();
        });
      expect(await Promise.all([get(), get()])).toEqual([200, 200]);
      expect(await goaway, "HTTP/2 GOAWAY").toBe(true);
      client.destroy();
    } finally {
      await h.close();
      await up.close();
    }
  });
});
