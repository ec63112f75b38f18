// The authz filters in the real weft-proxy binary, driven by curl, in front
// of Debian's python3-httpbin: Istio's shapes (jwt_authn with requires_any
// [provider, allow_missing]; a DENY rbac filter before an ALLOW one), a DENY
// on `/p` held against path and host variants (thanks to the HCM's one path
// normalization), and every bad token answered 401 without a crash.
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, httpbinAvailable, startHttpbin } from "../test-util/httpbin.js";
import { hmacJwt, jwks, nowSec, signJwt, testKey, unsignedJwt } from "../test-util/jwt.js";

const BIN = fileURLToPath(new URL("../../dist/bundle/weft-proxy.mjs", import.meta.url));
const hasCurl = spawnSync("curl", ["--version"]).status === 0;
const ISS = "https://issuer.example";
const key = testKey("RS256", "k1");
const stranger = testKey("RS256", "k1");

function curl(args: string[]): Promise<{ status: number; body: string; headers: string }> {
  return new Promise((resolve, reject) => {
    execFile("curl", ["-s", "-S", "-D", "-", "--max-time", "10", ...args], { encoding: "utf8" }, (err, stdout) => {
      if (err && !stdout) return reject(err);
      const cut = stdout.indexOf("\r\n\r\n");
      const headers = cut < 0 ? stdout : stdout.slice(0, cut);
      resolve({ status: Number(/^HTTP\/[\d.]+ (\d{3})/.exec(headers)?.[1] ?? 0), headers: headers.toLowerCase(), body: cut < 0 ? "" : stdout.slice(cut + 4) });
    });
  });
}

const ROUTER = { name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } };

function bootstrap(listenPort: number, adminPort: number, httpbinPort: number, jwksPort: number): unknown {
  const anyPrincipal = [{ any: true }];
  return {
    admin: { address: { socket_address: { address: "127.0.0.1", port_value: adminPort } } },
    static_resources: {
      clusters: [
        { name: "httpbin", type: "STATIC", connect_timeout: "1s", load_assignment: { cluster_name: "httpbin", endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: httpbinPort } } } }] }] } },
        { name: "jwks", type: "STATIC", connect_timeout: "1s", load_assignment: { cluster_name: "jwks", endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: "127.0.0.1", port_value: jwksPort } } } }] }] } },
      ],
      listeners: [
        {
          name: "inbound",
          address: { socket_address: { address: "127.0.0.1", port_value: listenPort } },
          filter_chains: [
            {
              filters: [
                {
                  name: "envoy.filters.network.http_connection_manager",
                  typed_config: {
                    "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                    stat_prefix: "inbound",
                    upgrade_configs: [{ upgrade_type: "websocket" }],
                    route_config: { name: "r", virtual_hosts: [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "httpbin" } }] }] },
                    http_filters: [
                      {
                        name: "envoy.filters.http.jwt_authn",
                        typed_config: {
                          "@type": "type.googleapis.com/envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication",
                          providers: {
                            "origins-0": {
                              issuer: ISS,
                              remote_jwks: { http_uri: { uri: `http://jwks.local/keys`, cluster: "jwks", timeout: "2s" }, cache_duration: "300s" },
                              claim_to_headers: [{ header_name: "x-jwt-sub", claim_name: "sub" }],
                              payload_in_metadata: ISS,
                            },
                          },
                          rules: [{ match: { prefix: "/" }, requires: { requires_any: { requirements: [{ provider_name: "origins-0" }, { allow_missing: {} }] } } }],
                        },
                      },
                      {
                        name: "envoy.filters.http.rbac",
                        typed_config: {
                          "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
                          rules: {
                            action: "DENY",
                            policies: {
                              "ns[default]-policy[deny-p]-rule[0]": { permissions: [{ url_path: { path: { exact: "/p" } } }], principals: anyPrincipal },
                              "ns[default]-policy[deny-host]-rule[0]": { permissions: [{ header: { name: ":authority", string_match: { exact: "deny.local", ignore_case: true } } }], principals: anyPrincipal },
                            },
                          },
                        },
                      },
                      {
                        name: "envoy.filters.http.rbac",
                        typed_config: {
                          "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBAC",
                          rules: {
                            action: "ALLOW",
                            policies: {
                              "ns[default]-policy[jwt]-rule[0]": {
                                permissions: [{ url_path: { path: { prefix: "/anything/secure" } } }],
                                principals: [{ metadata: { filter: "istio_authn", path: [{ key: "request.auth.principal" }], value: { string_match: { exact: `${ISS}/alice` } } } }],
                              },
                              "ns[default]-policy[rest]-rule[0]": { permissions: [{ not_rule: { url_path: { path: { prefix: "/anything/secure" } } } }], principals: anyPrincipal },
                            },
                          },
                        },
                      },
                      ROUTER,
                    ],
                  },
                },
              ],
            },
          ],
        },
      ],
    },
  };
}

describe.skipIf(!existsSync(BIN) || !hasCurl || !httpbinAvailable())("authz filters through weft-proxy (curl → proxy → httpbin)", () => {
  let proxy: ChildProcess;
  let stderr = "";
  let httpbin: Awaited<ReturnType<typeof startHttpbin>>;
  let jwksServer: http.Server;
  let port = 0;
  let admin = 0;

  beforeAll(async () => {
    httpbin = await startHttpbin();
    jwksServer = http.createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(jwks(key)));
    await new Promise<void>((r) => jwksServer.listen(0, "127.0.0.1", r));
    port = await freePort();
    admin = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "weft-authz-"));
    const cfg = join(dir, "bootstrap.json");
    writeFileSync(cfg, JSON.stringify(bootstrap(port, admin, httpbin.port, (jwksServer.address() as AddressInfo).port)));
    proxy = spawn(process.execPath, [BIN, "-c", cfg, "-l", "warning"], { stdio: ["ignore", "ignore", "pipe"] });
    proxy.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    for (let i = 0; i < 100; i++) {
      const r = await curl([`http://127.0.0.1:${admin}/ready`]).catch(() => ({ status: 0 }));
      if (r.status === 200) break;
      if (proxy.exitCode !== null) throw new Error(`weft-proxy exited: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 30_000);

  afterAll(() => {
    proxy?.kill("SIGTERM");
    httpbin?.stop();
    jwksServer?.close();
  });

  const url = (p: string) => `http://127.0.0.1:${port}${p}`;
  const target = (t: string, host = "svc.local") => curl(["--path-as-is", "--request-target", t, "-H", `Host: ${host}`, url("/")]);

  it("serves an ordinary request, and the DENY on /p holds for /p itself", async () => {
    expect((await target("/get")).status).toBe(200);
    const r = await target("/p");
    expect(r.status).toBe(403);
    expect(r.body).toBe("RBAC: access denied");
    expect((await target("/p?x=1")).status).toBe(403);
    // Paths are case-sensitive: /P is another resource.
    expect((await target("/P")).status).toBe(404);
  });

  it("the DENY on a host holds for an upper-case Host", async () => {
    expect((await target("/get", "DENY.LOCAL")).status).toBe(403);
    expect((await target("/get", "deny.local")).status).toBe(403);
  });

  // These hold because the HCM normalizes :path and :authority before any filter (http/normalize-path.ts).
  it("the DENY on /p holds against //p, /./p, /x/../p, /%70, /p#frag, /%2e/p and a trailing-dot host", async () => {
    for (const t of ["//p", "/./p", "/x/../p", "/%70", "/p#frag", "/%2e/p", "/x/./../p"]) {
      const r = await target(t);
      expect(r.status, `${t} → ${r.status} ${r.body}`).toBe(403);
    }
    expect((await target("/get", "deny.local.")).status).toBe(403);
    // Absolute-form targets name the same resource.
    expect((await target("http://svc.local/p")).status).toBe(403);
    expect((await target("http://deny.local/get", "svc.local")).status).not.toBe(200);
  });

  it("holds for WebSocket upgrade requests (the filters run before the upgrade)", async () => {
    const upgrade = ["-H", "Connection: Upgrade", "-H", "Upgrade: websocket", "-H", "Sec-WebSocket-Version: 13", "-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="];
    for (const t of ["/p", "//p", "/x/../p"]) {
      const r = await curl([...upgrade, "--path-as-is", "--request-target", t, url("/")]);
      expect(r.status, t).toBe(403);
      expect(r.body).toBe("RBAC: access denied");
    }
    const bad = await curl([...upgrade, "-H", "Authorization: Bearer abc.def", url("/anything/secure")]);
    expect(bad.status).toBe(401);
    expect(bad.headers).toContain("www-authenticate: bearer realm=");
    expect((await curl([...upgrade, url("/anything/secure")])).status).toBe(403);
  });

  it("holds over HTTP/2 (h2c prior knowledge) too", async () => {
    for (const t of ["/p", "//p", "/x/../p", "/%70"]) {
      const r = await curl(["--http2-prior-knowledge", "--path-as-is", "--request-target", t, url("/")]);
      expect(r.status, t).toBe(403);
      expect(r.headers).toMatch(/^http\/2 403/);
    }
    expect((await curl(["--http2-prior-knowledge", "-H", "Host: DENY.LOCAL.", url("/get")])).status).toBe(403);
  });

  it("a valid token: claim header reaches httpbin and the principal is allowed on the protected path", async () => {
    const tok = signJwt(key, { iss: ISS, sub: "alice", exp: nowSec() + 600 });
    const r = await curl(["-H", `Authorization: Bearer ${tok}`, url("/anything/secure")]);
    expect(r.status, r.body).toBe(200);
    expect((JSON.parse(r.body) as { headers: Record<string, string> }).headers["X-Jwt-Sub"]).toBe("alice");
  });

  it("no token passes jwt_authn; the protected path is then denied (403), the open one served", async () => {
    expect((await curl([url("/anything/secure")])).status).toBe(403);
    expect((await curl([url("/anything/open")])).status).toBe(200);
  });

  it.each([
    ["malformed", "abc.def", "Jwt is not in the form of Header.Payload.Signature with two dots and 3 sections"],
    ["unknown issuer", () => signJwt(key, { iss: "https://evil.example", sub: "alice", exp: nowSec() + 600 }), "Jwt issuer is not configured"],
    ["expired", () => signJwt(key, { iss: ISS, sub: "alice", exp: nowSec() - 3600 }), "Jwt is expired"],
    ["alg none", () => unsignedJwt({ iss: ISS, sub: "alice", exp: nowSec() + 600 }), "Jwt header [alg] is not supported"],
    ["wrong signature", () => signJwt(stranger, { iss: ISS, sub: "alice", exp: nowSec() + 600 }), "Jwt verification fails"],
    ["HS256 keyed with the public JWK", () => hmacJwt(Buffer.from(JSON.stringify(key.jwk)), { iss: ISS, sub: "alice", exp: nowSec() + 600 }, "k1"), "Jwks doesn't have key to match kid or alg from Jwt"],
    ["garbage", "%%%.@@@.!!!", "Jwt header is an invalid Base64url encoded"],
  ])("%s → 401", async (_n, tok, reason) => {
    const token = typeof tok === "function" ? tok() : tok;
    const r = await curl(["-H", `Authorization: Bearer ${token}`, url("/anything/secure")]);
    expect(r.status).toBe(401);
    if (reason) expect(r.body).toBe(reason);
    expect(r.headers).toContain('www-authenticate: bearer realm="http://127.0.0.1:');
  });

  it("is still alive and counted everything in Envoy's stat names", async () => {
    expect(proxy.exitCode).toBeNull();
    const stats = (await curl([`http://127.0.0.1:${admin}/stats`])).body;
    expect(stats).toMatch(/http\.inbound\.rbac\.denied: [1-9]/);
    expect(stats).toMatch(/http\.inbound\.rbac\.allowed: [1-9]/);
    expect(stats).toMatch(/http\.inbound\.jwt_authn\.denied: [1-9]/);
    expect(stats).toMatch(/http\.inbound\.jwt_authn\.allowed: [1-9]/);
  });
});
