import { describe, expect, it } from "vitest";
import { request, routeConfig } from "../test-util/route-fixtures.js";
import { computeHash, selectCluster, selectRoute, selectVirtualHost } from "./select-route.js";
import { ResourceRejectedError } from "../contracts.js";

const vhosts = routeConfig({
  name: "80",
  virtual_hosts: [
    { name: "exact", domains: ["api.example.com", "api.example.com:80"], routes: [] },
    { name: "suffix-short", domains: ["*.com"], routes: [] },
    { name: "suffix-long", domains: ["*.example.com"], routes: [] },
    { name: "suffix-dash", domains: ["*-svc.example.com"], routes: [] },
    { name: "prefix-short", domains: ["api.*"], routes: [] },
    { name: "prefix-long", domains: ["api.internal.*"], routes: [] },
    { name: "default", domains: ["*"], routes: [] },
  ],
});

describe("selectVirtualHost()", () => {
  it.each([
    ["api.example.com", "exact"],
    ["API.Example.com", "exact"],
    ["api.example.com:80", "exact"],
    ["www.example.com", "suffix-long"],
    ["a-svc.example.com", "suffix-dash"],
    ["other.com", "suffix-short"],
    ["example.com", "suffix-short"],
    ["api.internal.local", "prefix-long"],
    ["api.local", "prefix-short"],
    ["api.example.com:8080", "prefix-short"],
    ["unknown.org", "default"],
    ["www.example.com:8080", "default"],
  ])("%s → %s", (authority, want) => {
    expect(selectVirtualHost(vhosts, authority)?.name).toBe(want);
  });

  it("requires a wildcard to match at least one character", () => {
    const rc = routeConfig({ name: "x", virtual_hosts: [{ name: "w", domains: ["*.foo.com"], routes: [] }] });
    expect(selectVirtualHost(rc, ".foo.com")).toBeUndefined();
    expect(selectVirtualHost(rc, "a.foo.com")?.name).toBe("w");
  });

  it("strips the port when ignore_port_in_host_matching is set", () => {
    const rc = routeConfig({ name: "x", ignore_port_in_host_matching: true, virtual_hosts: [{ name: "h", domains: ["h.local"], routes: [] }] });
    expect(selectVirtualHost(rc, "h.local:9080")?.name).toBe("h");
    expect(selectVirtualHost(rc, "[::1]:9080")).toBeUndefined();
  });

  it("rejects duplicate domains naming the field", () => {
    expect(() => routeConfig({ name: "dup", virtual_hosts: [{ name: "a", domains: ["x"] }, { name: "b", domains: ["x"] }] })).toThrow(/dup: virtual_hosts\[1\]\.domains\[0\]/);
  });
});

const routes = routeConfig({
  name: "r",
  virtual_hosts: [
    {
      name: "all",
      domains: ["*"],
      routes: [
        { name: "exact-path", match: { path: "/exact" }, route: { cluster: "c" } },
        { name: "regex", match: { safe_regex: { regex: "/items/[0-9]+" } }, route: { cluster: "c" } },
        { name: "sep-prefix", match: { path_separated_prefix: "/sep" }, route: { cluster: "c" } },
        { name: "ci", match: { prefix: "/CaSe", case_sensitive: false }, route: { cluster: "c" } },
        { name: "hdr-exact", match: { prefix: "/h", headers: [{ name: "x-env", string_match: { exact: "canary" } }] }, route: { cluster: "c" } },
        { name: "hdr-present", match: { prefix: "/h", headers: [{ name: "x-debug", present_match: true }] }, route: { cluster: "c" } },
        { name: "hdr-range", match: { prefix: "/h", headers: [{ name: "x-n", range_match: { start: "10", end: "20" } }] }, route: { cluster: "c" } },
        { name: "hdr-invert", match: { prefix: "/h", headers: [{ name: "x-user", string_match: { prefix: "bot" }, invert_match: true }] }, route: { cluster: "c" } },
        { name: "hdr-regex", match: { prefix: "/h", headers: [{ name: ":method", safe_regex_match: { regex: "P(UT|OST)" } }] }, route: { cluster: "c" } },
        { name: "query", match: { prefix: "/q", query_parameters: [{ name: "v", string_match: { exact: "2" } }] }, route: { cluster: "c" } },
        { name: "grpc", match: { prefix: "/pkg.Svc/", grpc: {} }, route: { cluster: "c" } },
        { name: "query-present", match: { prefix: "/q", query_parameters: [{ name: "debug", present_match: true }] }, route: { cluster: "c" } },
        { name: "catch-all", match: { prefix: "/" }, route: { cluster: "c" } },
      ],
    },
  ],
});

describe("selectRoute()", () => {
  it.each([
    [{ path: "/exact" }, "exact-path"],
    [{ path: "/exact?x=1" }, "exact-path"],
    [{ path: "/exactly" }, "catch-all"],
    [{ path: "/items/42" }, "regex"],
    [{ path: "/items/42x" }, "catch-all"],
    [{ path: "/sep" }, "sep-prefix"],
    [{ path: "/sep/x" }, "sep-prefix"],
    [{ path: "/separate" }, "catch-all"],
    [{ path: "/case/x" }, "ci"],
    [{ path: "/h", headers: { "x-env": "canary" } }, "hdr-exact"],
    [{ path: "/h", headers: { "x-debug": "" } }, "hdr-present"],
    [{ path: "/h", headers: { "x-n": "15" } }, "hdr-range"],
    [{ path: "/h", headers: { "x-n": "20", "x-user": "alice" } }, "hdr-invert"],
    [{ path: "/h", headers: { "x-user": "botty" } }, "catch-all"],
    [{ path: "/h", method: "PUT", headers: { "x-user": "bot" } }, "hdr-regex"],
    [{ path: "/q?v=2" }, "query"],
    [{ path: "/q?v=3&debug" }, "query-present"],
    // Values are matched as they appear in the path, not percent-decoded (Envoy's parseQueryString).
    [{ path: "/q?v=%32" }, "catch-all"],
    [{ path: "/q?%76=2" }, "catch-all"],
    [{ path: "/q?v=2&v=3" }, "query"],
    // grpc: {} matches gRPC content types only.
    [{ path: "/pkg.Svc/Call", headers: { "content-type": "application/grpc" } }, "grpc"],
    [{ path: "/pkg.Svc/Call", headers: { "content-type": "application/grpc+proto" } }, "grpc"],
    [{ path: "/pkg.Svc/Call", headers: { "content-type": "application/grpc;charset=utf-8" } }, "grpc"],
    [{ path: "/pkg.Svc/Call", headers: { "content-type": "application/grpc-web" } }, "catch-all"],
    [{ path: "/pkg.Svc/Call", headers: { "content-type": "application/json" } }, "catch-all"],
    [{ path: "/pkg.Svc/Call" }, "catch-all"],
    [{ path: "/q?v=3" }, "catch-all"],
  ] as const)("%o → %s", (req, want) => {
    const ctx = request({ ...req, headers: { ...(req as { headers?: Record<string, string> }).headers } });
    expect(selectRoute(routes, ctx)?.name).toBe(want);
  });

  it("rejects an invalid RE2 regex naming the field (not JS RegExp semantics)", () => {
    const bad = { name: "bad", virtual_hosts: [{ name: "v", domains: ["*"], routes: [{ match: { safe_regex: { regex: "(?<=x)y" } }, route: { cluster: "c" } }] }] };
    expect(() => routeConfig(bad)).toThrow(ResourceRejectedError);
    expect(() => routeConfig(bad)).toThrow(/virtual_hosts\[0\]\.routes\[0\]\.match\.safe_regex\.regex/);
  });
});

describe("selectCluster() and computeHash()", () => {
  const rc = routeConfig({
    name: "w",
    virtual_hosts: [
      {
        name: "v",
        domains: ["*"],
        routes: [
          { name: "w", match: { prefix: "/w" }, route: { weighted_clusters: { clusters: [{ name: "a", weight: 75 }, { name: "b", weight: 25 }] } } },
          { name: "hdr", match: { prefix: "/h" }, route: { cluster_header: "x-cluster" } },
          { name: "hash", match: { prefix: "/" }, route: { cluster: "c", hash_policy: [{ header: { header_name: "x-user" } }, { connection_properties: { source_ip: true } }] } },
        ],
      },
    ],
  });
  it("splits weighted clusters by weight", () => {
    const route = selectRoute(rc, request({ path: "/w" }))!;
    const spec = route.action as import("./route-action.js").RouteForwardSpec;
    let seq = 0;
    const rand = () => ((seq++ % 100) + 0.5) / 100;
    const counts: Record<string, number> = {};
    for (let i = 0; i < 1000; i++) {
      const n = selectCluster(spec, request({}), rand).name!;
      counts[n] = (counts[n] ?? 0) + 1;
    }
    expect(counts).toEqual({ a: 750, b: 250 });
  });
  it("reads cluster_header", () => {
    const route = selectRoute(rc, request({ path: "/h" }))!;
    expect(selectCluster(route.action as never, request({ headers: { "x-cluster": "zz" } }), Math.random).name).toBe("zz");
  });
  it("hashes deterministically from header and source ip", () => {
    const route = selectRoute(rc, request({ path: "/" }))!;
    const spec = route.action as import("./route-action.js").RouteForwardSpec;
    const h1 = computeHash(spec.hashPolicy, request({ headers: { "x-user": "u1" } }));
    expect(h1).toBe(computeHash(spec.hashPolicy, request({ headers: { "x-user": "u1" } })));
    expect(h1).not.toBe(computeHash(spec.hashPolicy, request({ headers: { "x-user": "u2" } })));
    expect(computeHash(spec.hashPolicy, request({ remoteIp: "10.0.0.1" }))).not.toBe(computeHash(spec.hashPolicy, request({ remoteIp: "10.0.0.2" })));
  });
});

describe("runtime_fraction route matches", () => {
  const fraction = (numerator: number, denominator = "HUNDRED") => ({ runtime_fraction: { default_value: { numerator, denominator }, runtime_key: "routing.canary" } });
  const reports: string[] = [];
  const rc = routeConfig(
    {
      name: "rf",
      virtual_hosts: [
        {
          name: "all",
          domains: ["*"],
          routes: [
            { name: "a", match: { prefix: "/", ...fraction(25) }, route: { cluster: "a" } },
            // Same per-request value as route a: it refuses exactly what a refused, so it never matches.
            { name: "b", match: { prefix: "/", ...fraction(25) }, route: { cluster: "b" } },
            { name: "c", match: { prefix: "/", ...fraction(50) }, route: { cluster: "c" } },
            { name: "rest", match: { prefix: "/" }, route: { cluster: "d" } },
          ],
        },
      ],
    },
    reports,
  );

  it("matches default_value's share of requests, with one random value per request (Envoy's)", () => {
    const n = 20_000;
    const seen: Record<string, number> = { a: 0, b: 0, c: 0, rest: 0 };
    for (let i = 0; i < n; i++) seen[selectRoute(rc, request({ path: "/" }))!.name!]++;
    expect(seen.a / n).toBeGreaterThan(0.22);
    expect(seen.a / n).toBeLessThan(0.28);
    expect(seen.b).toBe(0);
    // c takes the values in [25, 50) of 100 that a refused: another quarter.
    expect(seen.c / n).toBeGreaterThan(0.22);
    expect(seen.c / n).toBeLessThan(0.28);
    expect(seen.rest / n).toBeGreaterThan(0.47);
    expect(reports.join("\n")).toMatch(/runtime_fraction\.runtime_key/);
  });

  it("reads the denominator (2 500 of TEN_THOUSAND is a quarter)", () => {
    const one = routeConfig({ name: "d", virtual_hosts: [{ name: "all", domains: ["*"], routes: [{ name: "q", match: { prefix: "/", ...fraction(2500, "TEN_THOUSAND") }, route: { cluster: "q" } }] }] });
    let hits = 0;
    for (let i = 0; i < 20_000; i++) if (selectRoute(one, request({ path: "/" }))) hits++;
    expect(hits / 20_000).toBeGreaterThan(0.22);
    expect(hits / 20_000).toBeLessThan(0.28);
  });
});

