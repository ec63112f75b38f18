// LocalRateLimit.descriptors and route/virtual host rate_limits through the
// proxy, with curl and node:http clients and a real upstream: Istio's per-route
// EnvoyFilter shape (TypedStruct), request_headers per value, remote_address,
// header_value_match with expect_match false, vh_rate_limits modes, requests
// with no descriptor, x-ratelimit-* from the deciding bucket, per-connection
// buckets, and NACKs naming the field.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ResourceRejectedError } from "../../contracts.js";
import { httpListener, staticCluster, startRuntime, type Harness } from "../../test-util/runtime-harness.js";
import { curl, startBackend, type Backend } from "../../test-util/recording-backend.js";
import { statusesOnOneConnection } from "../../test-util/keep-alive-gets.js";

const LRL = "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit";
const KEY = "envoy.filters.http.local_ratelimit";
const ROUTER = { name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } };
const ON = { runtime_key: "local_rate_limit_enabled", default_value: { numerator: 100, denominator: "HUNDRED" } };
const typed = (value: Record<string, unknown>) => ({ "@type": "type.googleapis.com/udpa.type.v1.TypedStruct", type_url: LRL, value });
/** The HCM filter as Istio's per-route form inserts it: only stat_prefix. */
const hcmFilter = { http_filters: [{ name: KEY, typed_config: typed({ stat_prefix: "http_local_rate_limiter" }) }, ROUTER] };
const bucket = (max: number, fill = "60s") => ({ max_tokens: max, tokens_per_fill: max, fill_interval: fill });
const desc = (entries: Record<string, string>, max: number, fill = "60s") => ({ entries: Object.entries(entries).map(([key, value]) => ({ key, value })), token_bucket: bucket(max, fill) });

/** A per-route LocalRateLimit (TypedStruct, as Istio's EnvoyFilter writes it): default bucket, descriptors. */
function perRoute(prefix: string, max: number, descriptors: unknown[], extra: Record<string, unknown> = {}) {
  return { [KEY]: typed({ stat_prefix: prefix, token_bucket: bucket(max), filter_enabled: ON, filter_enforced: ON, descriptors, ...extra }) };
}

function route(prefix: string, rateLimits: unknown[] | undefined, perFilter: Record<string, unknown> | undefined, cluster = "be") {
  return { match: { prefix }, route: { cluster, ...(rateLimits ? { rate_limits: rateLimits } : {}) }, ...(perFilter ? { typed_per_filter_config: perFilter } : {}) };
}

const pathAction = { actions: [{ request_headers: { header_name: ":path", descriptor_key: "path" } }] };
const vipAction = { actions: [{ header_value_match: { descriptor_value: "vip", headers: [{ name: "x-plan", string_match: { exact: "vip" } }] } }] };

async function codes(port: number, path: string, n: number, headers?: Record<string, string>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await curl(port, path, { headers })).status);
  return out;
}


describe("local rate limit descriptors", () => {
  let h: Harness;
  let be: Backend;
  beforeAll(async () => {
    be = await startBackend(() => ({ status: 200, body: "ok" }));
    h = await startRuntime({
      clusters: [staticCluster("be", [be.port])],
      listeners: [
        // Istio's per-route form with descriptors: the path "/" at 2 a minute, requests with
        // x-plan: vip at 3 a minute, everything on the route at 10 a minute.
        httpListener(
          "istio",
          [{ name: "inbound|http|9080", domains: ["*"], routes: [route("/", [pathAction, vipAction], perRoute("istio", 10, [desc({ path: "/" }, 2), desc({ header_match: "vip" }, 3)]))] }],
          hcmFilter,
        ),
        httpListener(
          "tenants",
          [
            {
              name: "t",
              domains: ["*"],
              routes: [
                route("/t", [{ actions: [{ request_headers: { header_name: "x-tenant", descriptor_key: "tenant" } }] }], perRoute("tenants", 100, [desc({ tenant: "a" }, 2), desc({ tenant: "b" }, 2), desc({ tenant: "" }, 1)])),
                // skip_if_absent: a missing header adds nothing and the rest of the actions still count.
                route(
                  "/skip",
                  [{ actions: [{ request_headers: { header_name: "x-tenant", descriptor_key: "tenant", skip_if_absent: true } }, { generic_key: { descriptor_value: "all" } }] }],
                  perRoute("skip", 100, [desc({ generic_key: "all" }, 1), desc({ tenant: "a", generic_key: "all" }, 2)]),
                ),
              ],
            },
          ],
          hcmFilter,
        ),
        httpListener(
          "addr",
          [
            {
              name: "a",
              domains: ["*"],
              routes: [
                route("/remote", [{ actions: [{ remote_address: {} }] }], perRoute("remote", 100, [desc({ remote_address: "127.0.0.1" }, 2)])),
                route("/masked", [{ actions: [{ masked_remote_address: { v4_prefix_mask_len: 8 } }] }], perRoute("masked", 100, [desc({ masked_remote_address: "127.0.0.0/8" }, 1)])),
                route(
                  "/anon",
                  [{ actions: [{ header_value_match: { descriptor_value: "anon", expect_match: false, headers: [{ name: "authorization", present_match: true }] } }] }],
                  perRoute("anon", 100, [desc({ header_match: "anon" }, 1)]),
                ),
                route(
                  "/query",
                  [{ actions: [{ query_parameter_value_match: { descriptor_value: "debug", query_parameters: [{ name: "debug", string_match: { exact: "on" } }] } }] }],
                  perRoute("query", 100, [desc({ query_match: "debug" }, 1)]),
                ),
                route(
                  "/clusters",
                  [{ actions: [{ source_cluster: {} }, { destination_cluster: {} }] }],
                  perRoute("clusters", 100, [desc({ source_cluster: "", destination_cluster: "be" }, 1)]),
                ),
              ],
            },
          ],
          hcmFilter,
        ),
        httpListener(
          "vh",
          [
            {
              name: "v",
              domains: ["*"],
              rate_limits: [{ actions: [{ generic_key: { descriptor_key: "scope", descriptor_value: "vh" } }] }],
              routes: [
                route("/override/own", [{ actions: [{ generic_key: { descriptor_key: "scope", descriptor_value: "route" } }] }], perRoute("o1", 100, [desc({ scope: "vh" }, 1), desc({ scope: "route" }, 3)])),
                route("/override/none", undefined, perRoute("o2", 100, [desc({ scope: "vh" }, 1), desc({ scope: "route" }, 3)])),
                route("/include", [{ actions: [{ generic_key: { descriptor_key: "scope", descriptor_value: "route" } }] }], perRoute("inc", 100, [desc({ scope: "vh" }, 1), desc({ scope: "route" }, 3)], { vh_rate_limits: "INCLUDE", enable_x_ratelimit_headers: "DRAFT_VERSION_03" })),
                route("/ignore", undefined, perRoute("ign", 100, [desc({ scope: "vh" }, 1)], { vh_rate_limits: "IGNORE" })),
                // Only stage 1 actions count for a stage 1 filter; disable_key entries never do.
                route(
                  "/stage",
                  [
                    { stage: 0, actions: [{ generic_key: { descriptor_value: "s0" } }] },
                    { stage: 1, actions: [{ generic_key: { descriptor_value: "s1" } }] },
                    { stage: 1, disable_key: "off", actions: [{ generic_key: { descriptor_value: "off" } }] },
                  ],
                  perRoute("stage", 100, [desc({ generic_key: "s0" }, 1), desc({ generic_key: "s1" }, 2), desc({ generic_key: "off" }, 1)], { stage: 1 }),
                ),
                route("/noconsume", [{ actions: [{ generic_key: { descriptor_value: "k" } }] }], perRoute("nc", 1, [desc({ generic_key: "k" }, 3)], { always_consume_default_token_bucket: false })),
                route(
                  "/xrl",
                  [{ actions: [{ request_headers: { header_name: ":path", descriptor_key: "path" } }] }],
                  perRoute("xrl", 7, [desc({ path: "/xrl/d" }, 2)], { enable_x_ratelimit_headers: "DRAFT_VERSION_03" }),
                ),
                route("/perconn", [{ actions: [{ generic_key: { descriptor_value: "c" } }] }], perRoute("pc", 100, [desc({ generic_key: "c" }, 2)], { local_rate_limit_per_downstream_connection: true })),
              ],
            },
          ],
          hcmFilter,
        ),
      ],
    });
  });
  afterAll(async () => {
    await h?.close();
    await be?.close();
  });

  const statsOf = (prefix: string) => {
    const p = `${prefix}.http_local_rate_limit.`;
    return { enabled: h.stats.get(p + "enabled"), ok: h.stats.get(p + "ok"), rate_limited: h.stats.get(p + "rate_limited"), enforced: h.stats.get(p + "enforced") };
  };

  it("Istio's per-route form: / has its own rate, x-plan: vip another, other paths only the route's default bucket, which every allowed request also takes from", async () => {
    const p = h.port("istio");
    expect(await codes(p, "/", 3)).toEqual([200, 200, 429]);
    const limited = await curl(p, "/");
    expect([limited.status, limited.body, limited.headers["x-envoy-ratelimited"]]).toEqual([429, "local_rate_limited", "true"]);
    // /vip makes path=/vip (no descriptor) and header_match=vip (3 a minute).
    expect(await codes(p, "/vip", 4, { "x-plan": "vip" })).toEqual([200, 200, 200, 429]);
    // The default bucket (10) gave a token to each of the 5 allowed requests: 5 are left.
    expect(await codes(p, "/reviews", 6)).toEqual([200, 200, 200, 200, 200, 429]);
    expect(statsOf("istio")).toEqual({ enabled: 14, ok: 10, rate_limited: 4, enforced: 4 });
  });

  it("request_headers: a bucket per configured value; an empty value is a bucket per value seen; a missing header makes no descriptor", async () => {
    const p = h.port("tenants");
    expect(await codes(p, "/t", 3, { "x-tenant": "a" })).toEqual([200, 200, 429]);
    expect(await codes(p, "/t", 3, { "x-tenant": "b" })).toEqual([200, 200, 429]);
    expect(await codes(p, "/t", 2, { "x-tenant": "c" })).toEqual([200, 429]);
    expect(await codes(p, "/t", 2, { "x-tenant": "d" })).toEqual([200, 429]);
    // No x-tenant: the action fails, no descriptor, the default bucket (100) lets them through.
    expect(await codes(p, "/t", 4)).toEqual([200, 200, 200, 200]);
  });

  it("skip_if_absent: the other actions still make the descriptor", async () => {
    const p = h.port("tenants");
    expect(await codes(p, "/skip", 2)).toEqual([200, 429]);
    expect(await codes(p, "/skip", 3, { "x-tenant": "a" })).toEqual([200, 200, 429]);
  });

  it("remote_address, masked_remote_address, header_value_match with expect_match false, query_parameter_value_match, source and destination cluster", async () => {
    const p = h.port("addr");
    expect(await codes(p, "/remote", 3)).toEqual([200, 200, 429]);
    expect(await codes(p, "/masked", 2)).toEqual([200, 429]);
    // Without Authorization the header does not match, as expected: limited at 1.
    expect(await codes(p, "/anon", 2)).toEqual([200, 429]);
    expect(await codes(p, "/anon", 3, { authorization: "Bearer x" })).toEqual([200, 200, 200]);
    expect(await codes(p, "/query?debug=on", 2)).toEqual([200, 429]);
    expect(await codes(p, "/query?debug=off", 2)).toEqual([200, 200]);
    expect(await codes(p, "/clusters", 2)).toEqual([200, 429]);
  });

  it("vh_rate_limits OVERRIDE (default): the virtual host's rate_limits only for routes without their own", async () => {
    const p = h.port("vh");
    expect(await codes(p, "/override/own", 4)).toEqual([200, 200, 200, 429]);
    expect(await codes(p, "/override/none", 2)).toEqual([200, 429]);
  });

  it("vh_rate_limits INCLUDE adds the virtual host's; IGNORE drops them", async () => {
    const p = h.port("vh");
    // scope=vh (1) and scope=route (3) both match; the slower is taken first (its bucket is the one
    // x-ratelimit-* shows) and refuses the second request before the route's is touched.
    const first = await curl(p, "/include");
    expect([first.status, first.headers["x-ratelimit-limit"], first.headers["x-ratelimit-remaining"]]).toEqual([200, "1", "0"]);
    expect(await codes(p, "/include", 1)).toEqual([429]);
    expect(await codes(p, "/ignore", 3)).toEqual([200, 200, 200]);
  });

  it("stage: only the filter's stage counts, entries with a disable_key never", async () => {
    expect(await codes(h.port("vh"), "/stage", 3)).toEqual([200, 200, 429]);
  });

  it("always_consume_default_token_bucket false: a matched descriptor spares the default bucket", async () => {
    expect(await codes(h.port("vh"), "/noconsume", 4)).toEqual([200, 200, 200, 429]);
  });

  it("x-ratelimit-* comes from the bucket that decided: the descriptor's when one matched, else the default's", async () => {
    const p = h.port("vh");
    const d = await curl(p, "/xrl/d");
    expect([d.headers["x-ratelimit-limit"], d.headers["x-ratelimit-remaining"]]).toEqual(["2", "1"]);
    const other = await curl(p, "/xrl/other");
    expect([other.headers["x-ratelimit-limit"], other.headers["x-ratelimit-remaining"]]).toEqual(["7", "5"]);
    await curl(p, "/xrl/d");
    const refused = await curl(p, "/xrl/d");
    expect([refused.status, refused.headers["x-ratelimit-limit"], refused.headers["x-ratelimit-remaining"]]).toEqual([429, "2", "0"]);
  });

  it("local_rate_limit_per_downstream_connection: each connection has its own descriptor bucket", async () => {
    const p = h.port("vh");
    expect(await statusesOnOneConnection(p, "/perconn", 3)).toEqual([200, 200, 429]);
    expect(await statusesOnOneConnection(p, "/perconn", 3)).toEqual([200, 200, 429]);
  });
});

describe("local rate limit descriptor NACKs", () => {
  let be: Backend;
  beforeAll(async () => {
    be = await startBackend();
  });
  afterAll(async () => {
    await be?.close();
  });
  const start = (routes: unknown[], hcm: Record<string, unknown> = hcmFilter) =>
    startRuntime({ clusters: [staticCluster("be", [be.port])], listeners: [httpListener("n", [{ name: "v", domains: ["*"], routes }], hcm)] });
  const field = `virtual_hosts\\[0\\]\\.routes\\[0\\]\\.typed_per_filter_config\\["${KEY}"\\]`;

  it("a descriptor fill_interval that is not a multiple of the token_bucket's", async () => {
    const r = start([route("/", [pathAction], perRoute("n", 10, [desc({ path: "/" }, 1, "90s")]))]);
    await expect(r).rejects.toThrow(ResourceRejectedError);
    await expect(start([route("/", [pathAction], perRoute("n", 10, [desc({ path: "/" }, 1, "90s")]))])).rejects.toThrow(
      new RegExp(`${field}\\.descriptors\\[0\\]\\.token_bucket\\.fill_interval: 90000ms is not a multiple of the token_bucket's fill_interval \\(60000ms\\)`),
    );
  });

  it("duplicate descriptors", async () => {
    await expect(start([route("/", [pathAction], perRoute("n", 10, [desc({ path: "/" }, 1), desc({ path: "/" }, 2)]))])).rejects.toThrow(
      new RegExp(`${field}\\.descriptors\\[1\\]\\.entries: duplicate descriptor in the local rate descriptor: path=/`),
    );
  });

  it("a descriptor without entries, a descriptor bucket below 50ms, descriptors without a default bucket", async () => {
    await expect(start([route("/", [pathAction], perRoute("n", 10, [{ entries: [], token_bucket: bucket(1) }]))])).rejects.toThrow(new RegExp(`${field}\\.descriptors\\[0\\]\\.entries: at least one entry`));
    await expect(start([route("/", [pathAction], perRoute("n", 10, [desc({ path: "/" }, 1, "0.010s")]))])).rejects.toThrow(/descriptors\[0\]\.token_bucket\.fill_interval: 10ms is below the 50ms minimum/);
    const hcm = { http_filters: [{ name: KEY, typed_config: typed({ stat_prefix: "x", descriptors: [desc({ path: "/" }, 1)] }) }, ROUTER] };
    await expect(start([route("/", [pathAction], undefined)], hcm)).rejects.toThrow(/http_filters\[0\]\.token_bucket: is required with descriptors/);
  });

  it("route rate_limits: a stage above 10, no actions, a header action without descriptor_key", async () => {
    await expect(start([route("/", [{ stage: 11, actions: [{ remote_address: {} }] }], undefined)])).rejects.toThrow(/routes\[0\]\.route\.rate_limits\[0\]\.stage: must be at most 10/);
    await expect(start([route("/", [{ actions: [] }], undefined)])).rejects.toThrow(/routes\[0\]\.route\.rate_limits\[0\]\.actions: at least one action/);
    await expect(start([route("/", [{ actions: [{ request_headers: { header_name: "x" } }] }], undefined)])).rejects.toThrow(
      /routes\[0\]\.route\.rate_limits\[0\]\.actions\[0\]\.request_headers\.descriptor_key: must not be empty/,
    );
  });

  it("no longer reports rate_limits or descriptors as unsupported", async () => {
    const r = await start([route("/", [pathAction], perRoute("n", 10, [desc({ path: "/" }, 1)]))]);
    try {
      const fields = r.reports.map((x) => x.field);
      expect(fields.filter((f) => /rate_limits|descriptors|vh_rate_limits|stage/.test(f))).toEqual([]);
    } finally {
      await r.close();
    }
  });
});
