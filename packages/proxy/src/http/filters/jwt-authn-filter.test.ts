// jwt_authn through the proxy runtime: remote JWKS fetched through a cluster,
// Istio's RequestAuthentication shape (requires_any [provider, allow_missing])
// followed by an RBAC filter on the request principal, claim headers,
// token forwarding, and every rejection as a 401 with Envoy's texts.
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jwks, nowSec, signJwt, testKey, unsignedJwt, hmacJwt } from "../../test-util/jwt.js";
import { httpListener, startRuntime, staticCluster, type Harness } from "../../test-util/runtime-harness.js";

const ISS = "https://issuer.example";
const key = testKey("RS256", "k1");
const esKey = testKey("ES256", "k2");
const stranger = testKey("RS256", "k1");

function listen(handler: http.RequestListener): Promise<http.Server> {
  return new Promise((resolve) => {
    const s = http.createServer(handler);
    s.listen(0, "127.0.0.1", () => resolve(s));
  });
}
const portOf = (s: http.Server) => (s.address() as AddressInfo).port;

function get(port: number, path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path, headers: { host: "svc.local", ...headers } }, (res) => {
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

describe("envoy.filters.http.jwt_authn", () => {
  let jwksServer: http.Server;
  let app: http.Server;
  let h: Harness;
  let jwksFetches = 0;

  beforeAll(async () => {
    jwksServer = await listen((req, res) => {
      jwksFetches++;
      if (req.url === "/.well-known/jwks.json") res.writeHead(200, { "content-type": "application/json" }).end(jwks(key, esKey));
      else res.writeHead(404).end();
    });
    app = await listen((req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(req.headers)));
    const jwtFilter = {
      name: "envoy.filters.http.jwt_authn",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
        providers: {
          "origins-0": {
            issuer: ISS,
            audiences: ["svc"],
            remote_jwks: { http_uri: { uri: `http://jwks.local:${portOf(jwksServer)}/.well-known/jwks.json`, cluster: "jwks", timeout: "2s" }, cache_duration: "300s" },
            forward: false,
            forward_payload_header: "x-jwt-payload",
            claim_to_headers: [{ header_name: "x-jwt-sub", claim_name: "sub" }, { header_name: "x-jwt-group", claim_name: "org.group" }, { header_name: "x-jwt-name", claim_name: "name" }],
            payload_in_metadata: ISS,
          },
        },
        rules: [{ match: { prefix: "/" }, requires: { requires_any: { requirements: [{ provider_name: "origins-0" }, { allow_missing: {} }] } } }],
      },
    };
    // Istio's RBAC for `requestPrincipals: ["*"]` on /secure: DENY filter for not-authenticated on /secure.
    const rbacFilter = {
      name: "envoy.filters.http.rbac",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
        rules: {
          action: "ALLOW",
          policies: {
            "ns[default]-policy[jwt]-rule[0]": {
              permissions: [{ url_path: { path: { prefix: "/secure" } } }],
              principals: [{ metadata: { filter: "istio_authn", path: [{ key: "request.auth.principal" }], value: { string_match: { exact: `${ISS}/alice` } } } }],
            },
            "ns[default]-policy[open]-rule[0]": { permissions: [{ not_rule: { url_path: { path: { prefix: "/secure" } } } }], principals: [{ any: true }] },
          },
        },
      },
    };
    h = await startRuntime({
      clusters: [staticCluster("app", [portOf(app)]), staticCluster("jwks", [portOf(jwksServer)]), staticCluster("dead", [1])],
      listeners: [
        httpListener("main", ROUTES, { http_filters: [jwtFilter, rbacFilter, ROUTER] }),
        // Discovery's Envoy-native form: the payload jwt_authn stored under the issuer (payload_in_metadata).
        httpListener("native", ROUTES, {
          http_filters: [
            jwtFilter,
            {
              name: "envoy.filters.http.rbac",
              typed_config: {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
                rules: {
                  policies: {
                    "ns[default]-policy[p]-rule[0]": {
                      permissions: [{ any: true }],
                      principals: [
                        {
                          and_ids: {
                            ids: [
                              { metadata: { filter: "envoy.filters.http.jwt_authn", path: [{ key: ISS }, { key: "sub" }], value: { string_match: { exact: "alice" } } } },
                              {
                                metadata: {
                                  filter: "envoy.filters.http.jwt_authn",
                                  path: [{ key: ISS }, { key: "groups" }],
                                  value: { or_match: { value_matchers: [{ string_match: { exact: "admins" } }, { list_match: { one_of: { string_match: { exact: "admins" } } } }] } },
                                },
                              },
                            ],
                          },
                        },
                      ],
                    },
                  },
                },
              },
            },
            ROUTER,
          ],
        }),
        httpListener("nojwks", ROUTES, {
          http_filters: [
            {
              ...jwtFilter,
              typed_config: {
                ...jwtFilter.typed_config,
                providers: { "origins-0": { ...jwtFilter.typed_config.providers["origins-0"], remote_jwks: { http_uri: { uri: "http://dead.local/jwks", cluster: "dead", timeout: "1s" } } } },
              },
            },
            ROUTER,
          ],
        }),
      ],
    });
  });
  afterAll(async () => {
    await h?.close();
    jwksServer?.close();
    app?.close();
  });

  const good = (extra: Record<string, unknown> = {}, k = key) => signJwt(k, { iss: ISS, sub: "alice", aud: "svc", exp: nowSec() + 600, org: { group: "eng" }, ...extra });

  it("a valid token passes: claim headers, payload header, token removed, principal allowed by RBAC", async () => {
    const r = await get(h.port("main"), "/secure/x", { authorization: `Bearer ${good()}` });
    expect(r.status, r.body).toBe(200);
    const up = JSON.parse(r.body) as Record<string, string>;
    expect(up["x-jwt-sub"]).toBe("alice");
    expect(up["x-jwt-group"]).toBe("eng");
    expect(JSON.parse(Buffer.from(up["x-jwt-payload"], "base64url").toString())).toMatchObject({ sub: "alice" });
    expect(up["authorization"]).toBeUndefined();
    // ES256 from the same JWKS.
    expect((await get(h.port("main"), "/secure/x", { authorization: `Bearer ${good({}, esKey)}` })).status).toBe(200);
    // The JWKS was fetched once and cached.
    expect(jwksFetches).toBe(1);
  });

  it("a claim that is not ASCII reaches the upstream as its UTF-8 bytes", async () => {
    const r = await get(h.port("main"), "/secure/x", { authorization: `Bearer ${good({ name: "José Ñúñez" })}` });
    expect(r.status, r.body).toBe(200);
    // node:http hands the upstream its header bytes one per character (latin1).
    const raw = (JSON.parse(r.body) as Record<string, string>)["x-jwt-name"]!;
    expect(Buffer.from(raw, "latin1").toString("utf8")).toBe("José Ñúñez");
  });

  it("a missing token passes jwt_authn; the RBAC then denies the protected path (403) and allows the open one", async () => {
    const secure = await get(h.port("main"), "/secure/x");
    expect(secure.status).toBe(403);
    expect(secure.body).toBe("RBAC: access denied");
    expect((await get(h.port("main"), "/open")).status).toBe(200);
  });

  it("another subject is authenticated but not authorized", async () => {
    expect((await get(h.port("main"), "/secure/x", { authorization: `Bearer ${good({ sub: "bob" })}` })).status).toBe(403);
  });

  it.each([
    ["malformed", () => "not-a-jwt", "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections"],
    ["unknown issuer", () => good({ iss: "https://evil.example" }), "Jwt issuer is not configured"],
    ["expired", () => good({ exp: nowSec() - 120 }), "Jwt is expired"],
    ["alg none", () => unsignedJwt({ iss: ISS, sub: "alice", aud: "svc", exp: nowSec() + 600 }), "Jwt header [alg] is not supported"],
    ["wrong signature", () => good({}, stranger), "Jwt verification fails"],
    ["HS256 with the public key as secret", () => hmacJwt(Buffer.from(JSON.stringify(key.jwk)), { iss: ISS, sub: "alice", aud: "svc", exp: nowSec() + 600 }, "k1"), "Jwks doesn't have key to match kid or alg from Jwt"],
    ["garbage bytes", () => "e30.%%%.%%%", "Jwt header [alg] field is required and must be a string"],
  ])("%s → 401 with Envoy's reason and www-authenticate", async (_n, token, reason) => {
    const r = await get(h.port("main"), "/open?q=1", { authorization: `Bearer ${token()}` });
    expect(r.status).toBe(401);
    expect(r.body).toBe(reason);
    expect(r.headers["www-authenticate"]).toBe('Bearer realm="http://svc.local/open", error="invalid_token"');
    const log = h.logs.entries.at(-1)!;
    expect(log.responseCodeDetails).toBe(`jwt_authn_access_denied{${reason.replace(/ /g, "_")}}`);
  });

  it("a wrong audience → 403", async () => {
    const r = await get(h.port("main"), "/open", { authorization: `Bearer ${good({ aud: "other" })}` });
    expect(r.status).toBe(403);
    expect(r.body).toBe("Audiences in Jwt are not allowed");
  });

  it("a JWKS that cannot be fetched → 401 'Jwks remote fetch is failed' (fail closed), counted", async () => {
    const r = await get(h.port("nojwks"), "/open", { authorization: `Bearer ${good()}` });
    expect(r.status).toBe(401);
    expect(r.body).toBe("Jwks remote fetch is failed");
    expect(h.stats.get("http.nojwks.jwt_authn.jwks_fetch_failed")).toBe(1);
    expect(h.stats.get("http.main.jwt_authn.jwks_fetch_success")).toBe(1);
  });

  it("RBAC on jwt_authn's own metadata (payload_in_metadata = issuer): sub and a list claim", async () => {
    const port = h.port("native");
    expect((await get(port, "/", { authorization: `Bearer ${good({ groups: ["dev", "admins"] })}` })).status).toBe(200);
    expect((await get(port, "/", { authorization: `Bearer ${good({ groups: "admins" })}` })).status).toBe(200);
    expect((await get(port, "/", { authorization: `Bearer ${good({ groups: ["dev"] })}` })).status).toBe(403);
    expect((await get(port, "/", { authorization: `Bearer ${good({ sub: "bob", groups: ["admins"] })}` })).status).toBe(403);
    expect((await get(port, "/")).status).toBe(403);
  });

  it("counts allowed and denied", () => {
    expect(h.stats.get("http.main.jwt_authn.allowed")).toBeGreaterThan(0);
    expect(h.stats.get("http.main.jwt_authn.denied")).toBeGreaterThan(0);
  });
});

describe("jwt_authn requirement semantics", () => {
  let app: http.Server;
  let h: Harness;
  beforeAll(async () => {
    app = await listen((_req, res) => res.writeHead(200).end("ok"));
    const provider = (iss: string, header: string) => ({ issuer: iss, local_jwks: { inline_string: jwks(key) }, from_headers: [{ name: header, value_prefix: "Bearer " }] });
    const filter = (requires: unknown) => ({
      name: "envoy.filters.http.jwt_authn",
      typed_config: {
        "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
        providers: { a: provider("iss-a", "x-a"), b: provider("iss-b", "x-b") },
        rules: [{ match: { prefix: "/public" } }, { match: { prefix: "/" }, requires }],
      },
    });
    h = await startRuntime({
      clusters: [staticCluster("app", [portOf(app)])],
      listeners: [
        httpListener("one", ROUTES, { http_filters: [filter({ provider_name: "a" }), ROUTER] }),
        httpListener("all", ROUTES, { http_filters: [filter({ requires_all: { requirements: [{ provider_name: "a" }, { provider_name: "b" }] } }), ROUTER] }),
        httpListener("failed_ok", ROUTES, { http_filters: [filter({ allow_missing_or_failed: {} }), ROUTER] }),
      ],
    });
  });
  afterAll(async () => {
    await h?.close();
    app?.close();
  });
  const tok = (iss: string) => `Bearer ${signJwt(key, { iss, exp: nowSec() + 60 })}`;

  it("provider_name: missing → 401 'Jwt is missing' without error=invalid_token; a rule without requirement skips", async () => {
    const r = await get(h.port("one"), "/x");
    expect(r.status).toBe(401);
    expect(r.body).toBe("Jwt is missing");
    expect(r.headers["www-authenticate"]).toBe('Bearer realm="http://svc.local/x"');
    expect((await get(h.port("one"), "/public")).status).toBe(200);
    expect((await get(h.port("one"), "/x", { "x-a": tok("iss-a") })).status).toBe(200);
  });

  it("requires_all needs both tokens", async () => {
    expect((await get(h.port("all"), "/x", { "x-a": tok("iss-a") })).status).toBe(401);
    expect((await get(h.port("all"), "/x", { "x-a": tok("iss-a"), "x-b": tok("iss-b") })).status).toBe(200);
  });

  it("allow_missing_or_failed passes bad tokens", async () => {
    expect((await get(h.port("failed_ok"), "/x", { "x-a": "garbage" })).status).toBe(200);
  });
});
