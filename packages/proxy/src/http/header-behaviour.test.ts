// Envoy's header behaviour on real HTTP exchanges against an echo backend:
// XFF/use_remote_address, B3 spans, header mutations at three levels,
// redirects, CORS, fault injection, WebSocket refusal, DNS and ORIGINAL_DST clusters.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpListener, staticCluster, startRuntime, type Harness } from "../test-util/runtime-harness.js";

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(port: number, path: string, headers: Record<string, string> = {}, method = "GET"): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: "127.0.0.1", port, path, headers, method, agent: false }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    r.on("error", reject);
    r.end();
  });
}

const FAULT = { "@type": "type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault" };
const CORS = { "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors" };
const ROUTER = { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" };

describe("header behaviour", () => {
  let echo: http.Server;
  let echoPort: number;
  let h: Harness;
  let port: number;
  let edge: number;

  beforeAll(async () => {
    echo = http.createServer((req, res) => {
      res.setHeader("content-type", "application/json");
      res.setHeader("x-upstream", "1");
      res.end(JSON.stringify({ url: req.url, headers: req.headers }));
    });
    await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
    echoPort = (echo.address() as AddressInfo).port;
    const vhosts = [
      {
        name: "main",
        domains: ["*"],
        request_headers_to_add: [{ header: { key: "x-level", value: "vhost" } }],
        response_headers_to_add: [{ header: { key: "x-resp", value: "vhost" } }],
        typed_per_filter_config: {
          "envoy.filters.http.cors": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy",
            allow_origin_string_match: [{ exact: "https://app.example" }],
            allow_methods: "GET,POST",
            allow_headers: "x-a",
            max_age: "60",
          },
        },
        routes: [
          { name: "redirect", match: { prefix: "/go" }, redirect: { https_redirect: true, host_redirect: "secure.example", prefix_rewrite: "/landing" } },
          {
            name: "abort",
            match: { prefix: "/abort" },
            route: { cluster: "echo" },
            typed_per_filter_config: { "envoy.filters.http.fault": { ...FAULT, abort: { http_status: 418, percentage: { numerator: 100 } } } },
          },
          {
            name: "delay",
            match: { prefix: "/delay" },
            route: { cluster: "echo" },
            typed_per_filter_config: { "envoy.filters.http.fault": { ...FAULT, delay: { fixed_delay: "0.2s", percentage: { numerator: 100 } } } },
          },
          { name: "dns", match: { prefix: "/dns" }, route: { cluster: "dns", auto_host_rewrite: true } },
          { name: "orig", match: { prefix: "/orig" }, route: { cluster: "orig" } },
          {
            name: "echo",
            match: { prefix: "/" },
            route: { cluster: "echo" },
            request_headers_to_add: [
              { header: { key: "x-level", value: "route" } },
              { header: { key: "x-client", value: "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%" } },
              { header: { key: "x-over", value: "route" }, append_action: "OVERWRITE_IF_EXISTS_OR_ADD" },
              // Sent as its UTF-8 bytes (Envoy); U+010A must not lose its high byte and become a LF.
              { header: { key: "x-utf8", value: "caf\u00e9 \u2192 \u010Ax-injected: 1" } },
            ],
            request_headers_to_remove: ["x-secret"],
            response_headers_to_remove: ["x-upstream"],
          },
        ],
      },
    ];
    const filters = [
      { name: "envoy.filters.http.fault", typed_config: FAULT },
      { name: "envoy.filters.http.cors", typed_config: CORS },
      { name: "envoy.filters.http.router", typed_config: ROUTER },
    ];
    h = await startRuntime({
      clusters: [
        staticCluster("echo", [echoPort]),
        {
          name: "dns",
          type: "STRICT_DNS",
          connect_timeout: "1s",
          dns_lookup_family: "V4_ONLY",
          load_assignment: { cluster_name: "dns", endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "localhost", port_value: echoPort } } } }] }] },
        },
        { name: "orig", type: "ORIGINAL_DST", lb_policy: "CLUSTER_PROVIDED", connect_timeout: "1s", original_dst_lb_config: { use_http_header: true } },
      ],
      listeners: [
        httpListener("inner", vhosts, {
          http_filters: filters,
          tracing: {},
        }),
        httpListener("edge", [{ name: "e", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "echo" } }] }], {
          use_remote_address: true,
          skip_xff_append: false,
        }),
      ],
    });
    port = h.port("inner");
    edge = h.port("edge");
  });
  afterAll(async () => {
    await h?.close();
    echo?.close();
  });

  const upstream = (r: Reply) => JSON.parse(r.body) as { url: string; headers: Record<string, string> };

  it("applies route then vhost mutations (append), removals and %VARIABLES%", async () => {
    const r = await request(port, "/x", { "x-secret": "s", "x-over": "client" });
    const u = upstream(r);
    expect(u.headers["x-level"]).toBe("route, vhost");
    expect(u.headers["x-client"]).toBe("127.0.0.1");
    expect(u.headers["x-over"]).toBe("route");
    expect(Buffer.from(u.headers["x-utf8"], "latin1").toString("utf8")).toBe("caf\u00e9 \u2192 \u010Ax-injected: 1");
    expect(u.headers["x-injected"]).toBeUndefined();
    expect(u.headers["x-secret"]).toBeUndefined();
    expect(r.headers["x-resp"]).toBe("vhost");
    expect(r.headers["x-upstream"]).toBeUndefined();
  });

  it("starts a B3 trace, and continues an existing one with a new span", async () => {
    const fresh = upstream(await request(port, "/t"));
    expect(fresh.headers["x-b3-traceid"]).toMatch(/^[0-9a-f]{16}$/);
    expect(fresh.headers["x-b3-spanid"]).toMatch(/^[0-9a-f]{16}$/);
    expect(fresh.headers["x-b3-sampled"]).toBe("1");
    const cont = upstream(await request(port, "/t", { "x-b3-traceid": "463ac35c9f6413ad", "x-b3-spanid": "a2fb4a1d1a96d312", "x-b3-sampled": "0" }));
    expect(cont.headers["x-b3-traceid"]).toBe("463ac35c9f6413ad");
    expect(cont.headers["x-b3-parentspanid"]).toBe("a2fb4a1d1a96d312");
    expect(cont.headers["x-b3-spanid"]).not.toBe("a2fb4a1d1a96d312");
    expect(cont.headers["x-b3-sampled"]).toBe("0");
  });

  it("keeps an incoming x-request-id on an internal hop, and passes B3 through without tracing", async () => {
    const u = upstream(await request(edge, "/", { "x-request-id": "keep-me", "x-b3-traceid": "abc", "x-b3-spanid": "def" }));
    expect(u.headers["x-request-id"]).toBe("keep-me");
    expect(u.headers["x-b3-spanid"]).toBe("def");
  });

  it("use_remote_address appends the peer to x-forwarded-for; internal only when that is the one address", async () => {
    const u = upstream(await request(edge, "/", { "x-forwarded-for": "203.0.113.9", "x-forwarded-proto": "https" }));
    expect(u.headers["x-forwarded-for"]).toBe("203.0.113.9,127.0.0.1");
    expect(u.headers["x-forwarded-proto"]).toBe("http");
    // Envoy: a client that sent its own XFF is external, whatever the peer's address.
    expect(u.headers["x-envoy-internal"]).toBeUndefined();
    expect(u.headers["x-envoy-external-address"]).toBe("127.0.0.1");
    const own = upstream(await request(edge, "/", {}));
    expect(own.headers["x-forwarded-for"]).toBe("127.0.0.1");
    expect(own.headers["x-envoy-internal"]).toBe("true");
    expect(own.headers["x-envoy-external-address"]).toBeUndefined();
  });

  it("redirects with scheme, host and prefix rewrite", async () => {
    const r = await request(port, "/go/deep?q=1");
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe("https://secure.example/landing/deep?q=1");
  });

  it("injects an abort (FI) and a delay (DI)", async () => {
    const a = await request(port, "/abort");
    expect(a.status).toBe(418);
    expect(a.body).toBe("fault filter abort");
    expect((await h.logs.waitFor((i) => i.routeName === "abort")).responseFlags).toEqual(["FI"]);
    const t0 = Date.now();
    const d = await request(port, "/delay");
    expect(d.status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(180);
    expect((await h.logs.waitFor((i) => i.routeName === "delay")).responseFlags).toEqual(["DI"]);
  });

  it("answers CORS preflights and decorates allowed origins", async () => {
    const pre = await request(port, "/x", { origin: "https://app.example", "access-control-request-method": "POST" }, "OPTIONS");
    expect(pre.status).toBe(200);
    expect(pre.headers["access-control-allow-origin"]).toBe("https://app.example");
    expect(pre.headers["access-control-allow-methods"]).toBe("GET,POST");
    expect(pre.headers["access-control-max-age"]).toBe("60");
    const simple = await request(port, "/x", { origin: "https://app.example" });
    expect(simple.headers["access-control-allow-origin"]).toBe("https://app.example");
    const other = await request(port, "/x", { origin: "https://evil.example" });
    expect(other.headers["access-control-allow-origin"]).toBeUndefined();
  });

  it("refuses a WebSocket upgrade when upgrade_configs does not enable it (403)", async () => {
    const r = await request(port, "/ws", { connection: "upgrade", upgrade: "websocket", "sec-websocket-version": "13", "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==" });
    expect(r.status).toBe(403);
  });

  it("resolves STRICT_DNS endpoints and rewrites the host (auto_host_rewrite)", async () => {
    const u = upstream(await request(port, "/dns"));
    expect(u.headers.host).toBe("localhost");
  });

  it("routes an ORIGINAL_DST cluster by x-envoy-original-dst-host", async () => {
    const u = upstream(await request(port, "/orig", { "x-envoy-original-dst-host": `127.0.0.1:${echoPort}` }));
    expect(u.url).toBe("/orig");
  });
});
