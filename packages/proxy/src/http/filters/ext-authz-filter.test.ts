// ext_authz http_service against a real authorization server and upstream on
// loopback, through the proxy runtime (listener → HCM → ext_authz → router).
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpListener, startRuntime, staticCluster, type Harness } from "../../test-util/runtime-harness.js";

function listen(handler: http.RequestListener): Promise<http.Server> {
  return new Promise((resolve) => {
    const s = http.createServer(handler);
    s.listen(0, "127.0.0.1", () => resolve(s));
  });
}
const portOf = (s: http.Server) => (s.address() as AddressInfo).port;

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path, headers: { host: "svc", ...headers } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
  });
}

const ROUTER = { name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } };
const ROUTES = [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "app" } }] }];

function extAuthz(extra: Record<string, unknown>) {
  return { name: "envoy.filters.http.ext_authz", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.ExtAuthz", ...extra } };
}

describe("envoy.filters.http.ext_authz (http_service)", () => {
  let authz: http.Server;
  let app: http.Server;
  let h: Harness;
  const seen: Array<{ method?: string; url?: string; headers: http.IncomingHttpHeaders }> = [];

  beforeAll(async () => {
    authz = await listen((req, res) => {
      seen.push({ method: req.method, url: req.url, headers: req.headers });
      if (req.headers["authorization"] === "Bearer good") {
        res.writeHead(200, { "x-user": "alice", "x-extra": "no", "x-ok-client": "yes" }).end();
      } else {
        res.writeHead(401, { "www-authenticate": 'Basic realm="x"', "x-denied-by": "authz" }).end("go away");
      }
    });
    app = await listen((req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(req.headers)));
    const service = (cluster: string, failureModeAllow = false) =>
      extAuthz({
        failure_mode_allow: failureModeAllow,
        http_service: {
          server_uri: { uri: `http://${cluster}`, cluster, timeout: "1s" },
          path_prefix: "/check",
          authorization_request: { allowed_headers: { patterns: [{ exact: "x-trace" }] } },
          authorization_response: {
            allowed_upstream_headers: { patterns: [{ exact: "x-user" }] },
            allowed_client_headers_on_success: { patterns: [{ exact: "x-ok-client" }] },
          },
        },
      });
    h = await startRuntime({
      clusters: [staticCluster("app", [portOf(app)]), staticCluster("authz", [portOf(authz)]), staticCluster("dead", [1])],
      listeners: [
        httpListener("main", ROUTES, { http_filters: [service("authz"), ROUTER] }),
        httpListener("dead_closed", ROUTES, { http_filters: [service("dead"), ROUTER] }),
        httpListener("dead_open", ROUTES, { http_filters: [service("dead", true), ROUTER] }),
        httpListener("grpc", ROUTES, { http_filters: [extAuthz({ grpc_service: { envoy_grpc: { cluster_name: "authz" } } }), ROUTER] }),
        httpListener("missing", ROUTES, { http_filters: [service("no-such-cluster"), ROUTER] }),
        // Istio's CUSTOM action: a shadow DENY rbac names the policy, ext_authz runs only when it matched.
        httpListener("custom", ROUTES, {
          http_filters: [
            {
              name: "envoy.filters.http.rbac",
              typed_config: {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
                shadow_rules: {
                  action: "DENY",
                  policies: { "istio-ext-authz-ns[default]-policy[ext-authz]-rule[0]": { permissions: [{ url_path: { path: { prefix: "/info" } } }], principals: [{ any: true }] } },
                },
                shadow_rules_stat_prefix: "istio_ext_authz_",
              },
            },
            extAuthz({
              http_service: { server_uri: { uri: "http://authz", cluster: "authz", timeout: "1s" } },
              filter_enabled_metadata: {
                filter: "envoy.filters.http.rbac",
                path: [{ key: "istio_ext_authz_shadow_effective_policy_id" }],
                value: { string_match: { prefix: "istio-ext-authz" } },
              },
            }),
            ROUTER,
          ],
        }),
      ],
    });
  });
  afterAll(async () => {
    await h?.close();
    authz?.close();
    app?.close();
  });

  it("allows on 200, sending method, prefixed path, authorization and allowed headers; copies allowed headers upstream and to the client", async () => {
    const r = await get(h.port("main"), "/data?x=1", { authorization: "Bearer good", "x-trace": "t1", "x-secret": "s" });
    expect(r.status).toBe(200);
    const upstream = JSON.parse(r.body) as Record<string, string>;
    expect(upstream["x-user"]).toBe("alice");
    expect(upstream["x-extra"]).toBeUndefined();
    expect(r.headers["x-ok-client"]).toBe("yes");
    const s = seen.at(-1)!;
    expect(s.method).toBe("GET");
    expect(s.url).toBe("/check/data?x=1");
    expect(s.headers["authorization"]).toBe("Bearer good");
    expect(s.headers["x-trace"]).toBe("t1");
    expect(s.headers["x-secret"]).toBeUndefined();
    expect(s.headers["host"]).toBe("svc");
    expect(h.stats.get("http.main.ext_authz.ok")).toBeGreaterThanOrEqual(1);
  });

  it("passes the authorization server's denial to the client (status, body, headers) with UAEX", async () => {
    const r = await get(h.port("main"), "/data", { authorization: "Bearer bad" });
    expect(r.status).toBe(401);
    expect(r.body).toBe("go away");
    expect(r.headers["www-authenticate"]).toBe('Basic realm="x"');
    expect(r.headers["x-denied-by"]).toBe("authz");
    expect(h.stats.get("http.main.ext_authz.denied")).toBeGreaterThanOrEqual(1);
    const log = h.logs.entries.at(-1)!;
    expect(log.responseFlags).toContain("UAEX");
    expect(log.responseCodeDetails).toBe("ext_authz_denied");
  });

  it("fails closed (403) when the service is unreachable, open with failure_mode_allow", async () => {
    expect((await get(h.port("dead_closed"), "/x")).status).toBe(403);
    expect(h.stats.get("http.dead_closed.ext_authz.error")).toBe(1);
    expect((await get(h.port("missing"), "/x")).status).toBe(403);
    const open = await get(h.port("dead_open"), "/x");
    expect(open.status).toBe(200);
    expect(h.stats.get("http.dead_open.ext_authz.failure_mode_allowed")).toBe(1);
  });

  it("Istio's CUSTOM action: only requests the shadow policy matched are sent to the authorization service", async () => {
    const before = seen.length;
    expect((await get(h.port("custom"), "/info/x")).status).toBe(401);
    expect(seen.length).toBe(before + 1);
    expect((await get(h.port("custom"), "/info/x", { authorization: "Bearer good" })).status).toBe(200);
    expect((await get(h.port("custom"), "/other")).status).toBe(200);
    expect(seen.length).toBe(before + 2);
    expect(h.stats.get("http.custom.ext_authz.disabled")).toBe(1);
    expect(h.stats.get("http.custom.rbac.istio_ext_authz_shadow_denied")).toBe(2);
  });

  it("grpc_service loads, is reported once, and fails closed", async () => {
    expect(h.reports.some((r) => r.field === "ext_authz.grpc_service")).toBe(true);
    const r = await get(h.port("grpc"), "/x", { authorization: "Bearer good" });
    expect(r.status).toBe(403);
  });
});
