// envoy.filters.http.local_ratelimit through the proxy: curl and node:http
// clients → proxy → a real upstream. Burst and refill, per-route and per-vhost
// overrides (Istio's shape: the HCM filter names only stat_prefix), 0 %
// enabled / enforced, per-connection buckets, gRPC, exact stats, the RL flag.
import { execFile } from "node:child_process";
import type { DescMessage } from "@bufbuild/protobuf";
import { anyPack } from "@bufbuild/protobuf/wkt";
import { fromEnvoyJson, TypeUrl } from "@weft/xds-api";
import { BootstrapSchema } from "@weft/xds-api/gen/envoy/config/bootstrap/v3/bootstrap_pb.js";
import { ListenerSchema } from "@weft/xds-api/gen/envoy/config/listener/v3/listener_pb.js";
import { RouteConfigurationSchema } from "@weft/xds-api/gen/envoy/config/route/v3/route_pb.js";
import { LocalRateLimitSchema } from "@weft/xds-api/gen/envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit_pb.js";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { ResourceRejectedError } from "../../contracts.js";
import { createProxyRuntime } from "../../runtime/create-proxy-runtime.js";
import { createSharedBucketMemory } from "../../runtime/shared-bucket-table.js";
import { renderPrometheus } from "../../stats/prometheus-format.js";
import { createStatsStore, type StatsStoreImpl } from "../../stats/stats-store.js";
import { createTagProducer } from "../../stats/tag-extractor.js";
import { renderStatsText } from "../../stats/stats-text-format.js";
import { captureAccessLogs } from "../../test-util/capture-access-log.js";
import { createFakeStats } from "../../test-util/fake-stats.js";
import type { RequestContext } from "../request-context.js";
import { createLocalRateLimitFilterFactory } from "./local-ratelimit-filter.js";
import { httpListener, staticCluster, startRuntime, type Harness } from "../../test-util/runtime-harness.js";
import { curl, sleep, startBackend, type Backend } from "../../test-util/recording-backend.js";
import { loadRev0Bootstrap } from "../../test-util/testdata.js";
import { statusesOnOneConnection } from "../../test-util/keep-alive-gets.js";

const LRL = "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit";
const ROUTER = { name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } };
const pct = (n: number) => ({ runtime_key: "local_rate_limit_enabled", default_value: { numerator: n, denominator: "HUNDRED" } });

/** A LocalRateLimit as Istio's task writes it: enabled and enforced for every request. */
function limit(statPrefix: string, maxTokens: number, fill: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    "@type": LRL,
    stat_prefix: statPrefix,
    token_bucket: { max_tokens: maxTokens, tokens_per_fill: 1, fill_interval: fill },
    filter_enabled: pct(100),
    filter_enforced: pct(100),
    ...extra,
  };
}

const withFilter = (cfg: Record<string, unknown>) => ({ http_filters: [{ name: "envoy.filters.http.local_ratelimit", typed_config: cfg }, ROUTER] });
const perFilter = (cfg: Record<string, unknown>) => ({ "envoy.filters.http.local_ratelimit": cfg });
const catchAll = (cluster = "be") => [{ name: "v", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster } }] }];


/**
 * nghttp: all URIs as concurrent streams of one HTTP/2 connection (h2c, prior knowledge);
 * the :status of each, sorted. Paths differ (`path/i`): nghttp fetches a repeated URI once.
 * (curl 7.88 fails to reuse an h2c prior-knowledge connection for a second URL.)
 */
function h2Statuses(port: number, path: string, n: number): Promise<number[]> {
  const args = ["-v", ...Array.from({ length: n }, (_, i) => `http://127.0.0.1:${port}${path}/${i}`)];
  return new Promise((resolve, reject) =>
    execFile("nghttp", args, (err, out) => (err ? reject(err) : resolve([...out.matchAll(/recv \(stream_id=\d+\) :status: (\d+)/g)].map((m) => Number(m[1])).sort()))),
  );
}

describe("local rate limit", () => {
  let h: Harness;
  let be: Backend;
  /** The buckets were made between these instants (performance.now()): their fill phase. */
  let madeAfter = 0;
  let madeBefore = 0;

  /**
   * Waits until just after a fill of a 1 s bucket made at startup. The phase is only known to
   * lie in [madeAfter, madeBefore], so this leaves ≥ 1 s − (startup time) − 30 ms before the
   * next fill: a short burst can't straddle one and gain a token by chance.
   */
  async function justAfterAFill(): Promise<void> {
    expect(madeBefore - madeAfter).toBeLessThan(800);
    const now = performance.now();
    const k = Math.ceil((now - madeBefore) / 1000);
    await sleep(madeBefore + k * 1000 + 30 - now);
  }

  beforeAll(async () => {
    be = await startBackend(() => ({ status: 200, body: "ok" }));
    madeAfter = performance.now();
    h = await startRuntime({
      clusters: [staticCluster("be", [be.port])],
      listeners: [
        httpListener("burst", catchAll(), withFilter(limit("burst", 3, "1s", { response_headers_to_add: [{ append: false, header: { key: "x-local-rate-limit", value: "true" } }] }))),
        httpListener(
          "routes",
          [
            {
              name: "a",
              domains: ["*"],
              routes: [
                { match: { prefix: "/limited" }, route: { cluster: "be" }, typed_per_filter_config: perFilter(limit("per_route", 2, "1000s")) },
                { match: { prefix: "/twin" }, route: { cluster: "be" }, typed_per_filter_config: perFilter(limit("per_route", 2, "1000s")) },
                { match: { prefix: "/free" }, route: { cluster: "be" } },
              ],
            },
            {
              name: "vh",
              domains: ["vh.example"],
              typed_per_filter_config: perFilter(limit("per_vhost", 1, "1000s")),
              routes: [
                { match: { prefix: "/own" }, route: { cluster: "be" }, typed_per_filter_config: perFilter(limit("vh_route", 3, "1000s")) },
                { match: { prefix: "/" }, route: { cluster: "be" } },
              ],
            },
          ],
          // Istio's "Enabling local rate limits" per-route form: the listener's filter has only stat_prefix.
          withFilter({ "@type": LRL, stat_prefix: "http_local_rate_limiter" }),
        ),
        httpListener("disabled", catchAll(), withFilter(limit("disabled", 1, "1000s", { filter_enabled: pct(0) }))),
        httpListener("unset", catchAll(), withFilter({ "@type": LRL, stat_prefix: "unset", token_bucket: { max_tokens: 1, fill_interval: "1000s" } })),
        httpListener(
          "shadow",
          catchAll(),
          withFilter(limit("shadow", 1, "1000s", { filter_enforced: pct(0), request_headers_to_add_when_not_enforced: [{ append: false, header: { key: "x-local-rate-limited", value: "true" } }] })),
        ),
        httpListener("perconn", catchAll(), withFilter(limit("perconn", 2, "1000s", { local_rate_limit_per_downstream_connection: true }))),
        httpListener("grpc", catchAll(), withFilter(limit("grpc", 1, "1000s", { status: { code: 503 }, rate_limited_as_resource_exhausted: true }))),
        httpListener("xrl", catchAll(), withFilter(limit("xrl", 3, "1000s", { enable_x_ratelimit_headers: "DRAFT_VERSION_03", status: { code: 200 } }))),
      ],
    });
    madeBefore = performance.now();
  });
  afterAll(async () => {
    await h?.close();
    await be?.close();
  });

  const statsOf = (prefix: string) => {
    const p = `${prefix}.http_local_rate_limit.`;
    return { enabled: h.stats.get(p + "enabled"), ok: h.stats.get(p + "ok"), rate_limited: h.stats.get(p + "rate_limited"), enforced: h.stats.get(p + "enforced") };
  };

  it("lets max_tokens through, answers the next with 429 local_rate_limited, RL, x-envoy-ratelimited; passes again after fill_interval", async () => {
    const p = h.port("burst");
    await justAfterAFill();
    const before = be.requests.length;
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await curl(p, `/burst/${i}`)).status);
    expect(codes).toEqual([200, 200, 200]);
    const limited = await curl(p, "/burst/3");
    expect(limited.status).toBe(429);
    expect(limited.body).toBe("local_rate_limited");
    expect(limited.headers["x-envoy-ratelimited"]).toBe("true");
    expect(limited.headers["x-local-rate-limit"]).toBe("true");
    expect(be.requests.length - before).toBe(3);
    const log = await h.logs.waitFor((i) => i.requestHeader?.(":path") === "/burst/3");
    expect(log.responseFlags).toEqual(["RL"]);
    expect(log.responseCodeDetails).toBe("local_rate_limited");
    expect(statsOf("burst")).toEqual({ enabled: 4, ok: 3, rate_limited: 1, enforced: 1 });

    // One fill_interval later exactly one token (tokens_per_fill 1) has come back.
    await justAfterAFill();
    const again = await curl(p, "/burst/4");
    expect(again.status).toBe(200);
    expect(again.headers["x-envoy-ratelimited"]).toBeUndefined();
    expect((await curl(p, "/burst/5")).status).toBe(429);
    expect(statsOf("burst")).toEqual({ enabled: 6, ok: 4, rate_limited: 2, enforced: 2 });
  });

  it("a route's typed_per_filter_config limits that route only; the HCM filter alone (stat_prefix only) limits nothing", async () => {
    const p = h.port("routes");
    expect([(await curl(p, "/limited")).status, (await curl(p, "/limited")).status, (await curl(p, "/limited")).status]).toEqual([200, 200, 429]);
    // The same config on another route is another bucket (Envoy: per-route buckets are unique to the route).
    expect([(await curl(p, "/twin")).status, (await curl(p, "/twin")).status, (await curl(p, "/twin")).status]).toEqual([200, 200, 429]);
    for (let i = 0; i < 5; i++) expect((await curl(p, "/free")).status).toBe(200);
    expect(statsOf("per_route")).toEqual({ enabled: 6, ok: 4, rate_limited: 2, enforced: 2 });
    // The listener's own stats exist from the start (Envoy's show 0 in Istio's task) and stay 0.
    expect(statsOf("http_local_rate_limiter")).toEqual({ enabled: 0, ok: 0, rate_limited: 0, enforced: 0 });
  });

  it("a virtual host's config applies to its routes unless a route brings its own", async () => {
    const p = h.port("routes");
    expect((await curl(p, "/x", { host: "vh.example" })).status).toBe(200);
    expect((await curl(p, "/y", { host: "vh.example" })).status).toBe(429);
    for (let i = 0; i < 3; i++) expect((await curl(p, "/own", { host: "vh.example" })).status).toBe(200);
    expect((await curl(p, "/own", { host: "vh.example" })).status).toBe(429);
    expect(statsOf("per_vhost")).toEqual({ enabled: 2, ok: 1, rate_limited: 1, enforced: 1 });
    expect(statsOf("vh_route")).toEqual({ enabled: 4, ok: 3, rate_limited: 1, enforced: 1 });
  });

  it("filter_enabled 0 % never checks (and an absent filter_enabled is 0 %, as Envoy)", async () => {
    for (let i = 0; i < 4; i++) expect((await curl(h.port("disabled"), "/")).status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await curl(h.port("unset"), "/")).status).toBe(200);
    expect(statsOf("disabled")).toEqual({ enabled: 0, ok: 0, rate_limited: 0, enforced: 0 });
    expect(statsOf("unset")).toEqual({ enabled: 0, ok: 0, rate_limited: 0, enforced: 0 });
  });

  it("filter_enforced 0 % counts rate_limited but forwards, adding request_headers_to_add_when_not_enforced", async () => {
    const p = h.port("shadow");
    const first = await curl(p, "/shadow/1");
    const second = await curl(p, "/shadow/2");
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.headers["x-envoy-ratelimited"]).toBeUndefined();
    expect(be.requests.find((r) => r.url === "/shadow/1")?.headers["x-local-rate-limited"]).toBeUndefined();
    expect(be.requests.find((r) => r.url === "/shadow/2")?.headers["x-local-rate-limited"]).toBe("true");
    expect(statsOf("shadow")).toEqual({ enabled: 2, ok: 1, rate_limited: 1, enforced: 0 });
    expect((await h.logs.waitFor((i) => i.requestHeader?.(":path") === "/shadow/2")).responseFlags).toEqual([]);
  });

  it("local_rate_limit_per_downstream_connection: each connection has its own bucket", async () => {
    const p = h.port("perconn");
    expect(await statusesOnOneConnection(p, "/c1", 3)).toEqual([200, 200, 429]);
    expect(await statusesOnOneConnection(p, "/c2", 3)).toEqual([200, 200, 429]);
    // curl opens a new connection each time: never limited.
    for (let i = 0; i < 3; i++) expect((await curl(p, "/c3")).status).toBe(200);
    expect(statsOf("perconn")).toEqual({ enabled: 9, ok: 7, rate_limited: 2, enforced: 2 });
  });

  it("HTTP/2: the streams of one connection share that connection's bucket", async () => {
    const p = h.port("perconn");
    expect(await h2Statuses(p, "/h2", 3)).toEqual([200, 200, 429]);
    expect(await h2Statuses(p, "/h2", 3)).toEqual([200, 200, 429]);
  });

  it("status and rate_limited_as_resource_exhausted: 503 to HTTP, grpc-status 8 to gRPC", async () => {
    const p = h.port("grpc");
    expect((await curl(p, "/")).status).toBe(200);
    const g = await curl(p, "/pkg.Svc/Call", { headers: { "content-type": "application/grpc" }, data: "" });
    expect(g.status).toBe(200);
    expect(g.headers["grpc-status"]).toBe("8");
    expect(g.headers["x-envoy-ratelimited"]).toBe("true");
    const plain = await curl(p, "/");
    expect(plain.status).toBe(503);
    expect(plain.body).toBe("local_rate_limited");
  });

  it("enable_x_ratelimit_headers DRAFT_VERSION_03 adds x-ratelimit-*; a status below 400 means 429", async () => {
    const p = h.port("xrl");
    const a = await curl(p, "/");
    expect([a.headers["x-ratelimit-limit"], a.headers["x-ratelimit-remaining"]]).toEqual(["3", "2"]);
    expect(Number(a.headers["x-ratelimit-reset"])).toBeGreaterThan(0);
    await curl(p, "/");
    await curl(p, "/");
    const d = await curl(p, "/");
    expect(d.status).toBe(429);
    expect(d.headers["x-ratelimit-remaining"]).toBe("0");
  });

  it("reports the runtime_key it cannot honour under one field path (the reporter logs a path once)", () => {
    expect(h.reports).toContainEqual({ field: "local_ratelimit.filter_enabled.runtime_key", detail: "no runtime layer: default_value applies" });
  });
});

describe("local rate limit as Istio's EnvoyFilter writes it (udpa TypedStruct)", () => {
  const typed = (value: Record<string, unknown>) => ({ "@type": "type.googleapis.com/udpa.type.v1.TypedStruct", type_url: LRL, value });
  /** The task's values: 4 tokens per minute, always enabled and enforced, a response header. */
  const TASK = {
    stat_prefix: "http_local_rate_limiter",
    token_bucket: { max_tokens: 4, tokens_per_fill: 4, fill_interval: "60s" },
    filter_enabled: { runtime_key: "local_rate_limit_enabled", default_value: { numerator: 100, denominator: "HUNDRED" } },
    filter_enforced: { runtime_key: "local_rate_limit_enforced", default_value: { numerator: 100, denominator: "HUNDRED" } },
    response_headers_to_add: [{ append_action: "OVERWRITE_IF_EXISTS_OR_ADD", header: { key: "x-local-rate-limit", value: "true" } }],
  };
  let h: Harness;
  let be: Backend;
  beforeAll(async () => {
    be = await startBackend(() => ({ status: 200, body: "ok" }));
    h = await startRuntime({
      clusters: [staticCluster("be", [be.port])],
      listeners: [
        httpListener("global", catchAll(), withFilter(typed(TASK))),
        httpListener(
          "route",
          [{ name: "inbound|http|9080", domains: ["*"], routes: [{ match: { prefix: "/productpage" }, route: { cluster: "be" }, typed_per_filter_config: perFilter(typed(TASK)) }, { match: { prefix: "/" }, route: { cluster: "be" } }] }],
          withFilter(typed({ stat_prefix: "http_local_rate_limiter" })),
        ),
      ],
    });
  });
  afterAll(async () => {
    await h?.close();
    await be?.close();
  });

  it("the listener-wide form: the fifth request in a minute is 429 with x-local-rate-limit", async () => {
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push(await curl(h.port("global"), "/get"));
    expect(codes.map((c) => c.status)).toEqual([200, 200, 200, 200, 429]);
    expect(codes[4].headers["x-local-rate-limit"]).toBe("true");
    expect(codes[4].body).toBe("local_rate_limited");
  });

  it("the per-route form limits /productpage only", async () => {
    const p = h.port("route");
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push((await curl(p, "/productpage")).status);
    expect(codes).toEqual([200, 200, 200, 200, 429]);
    for (let i = 0; i < 5; i++) expect((await curl(p, "/reviews")).status).toBe(200);
  });
});

/** One xDS batch, as the ADS client hands it to the runtime. */
function batch(typeUrl: string, schema: DescMessage, items: Array<Record<string, unknown>>, version: string) {
  return {
    typeUrl,
    version,
    stateOfTheWorld: typeUrl === TypeUrl.Listener,
    removed: [],
    resources: items.map((j) => ({ name: String(j.name), version, resource: anyPack(schema, fromEnvoyJson(schema, j as never) as never) })),
  };
}

describe("local rate limit over xDS updates", () => {
  let h: Harness;
  let be: Backend;
  const KEY = "envoy.filters.http.local_ratelimit";
  const routes = (limited: Record<string, unknown>, more: unknown[] = []) => ({
    name: "rl",
    virtual_hosts: [{ name: "v", domains: ["*"], routes: [{ match: { prefix: "/limited" }, route: { cluster: "be" }, typed_per_filter_config: { [KEY]: limited } }, ...more, { match: { prefix: "/" }, route: { cluster: "be" } }] }],
  });
  const rdsListener = (hcmFilter: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
    const l = httpListener("lds", [], { ...withFilter(hcmFilter), ...extra });
    const hcm = (l.filter_chains as Array<{ filters: Array<{ typed_config: Record<string, unknown> }> }>)[0].filters[0].typed_config;
    delete hcm.route_config;
    hcm.rds = { route_config_name: "rl", config_source: { ads: {} } };
    return l;
  };
  const inlineListener = (extra: Record<string, unknown> = {}) => httpListener("inline", catchAll(), { ...withFilter(limit("hcm_level", 1, "1000s")), ...extra });
  const lds = (version: string, extra: Record<string, unknown> = {}) =>
    batch(TypeUrl.Listener, ListenerSchema, [rdsListener({ "@type": LRL, stat_prefix: "http_local_rate_limiter" }, extra), inlineListener(extra)], version);

  beforeAll(async () => {
    be = await startBackend(() => ({ status: 200, body: "ok" }));
    h = await startRuntime({ clusters: [staticCluster("be", [be.port])] });
    await h.runtime.apply(lds("1"));
    await h.runtime.apply(batch(TypeUrl.RouteConfiguration, RouteConfigurationSchema, [routes(limit("per_route", 2, "1000s"))], "1"));
  });
  afterAll(async () => {
    await h?.close();
    await be?.close();
  });

  const statuses = async (port: number, path: string, n: number): Promise<number[]> => {
    const out = [];
    for (let i = 0; i < n; i++) out.push((await curl(port, path)).status);
    return out;
  };

  it("keeps a route's bucket across an RDS update that leaves its config alone; a changed bucket starts full", async () => {
    const p = h.port("lds");
    expect(await statuses(p, "/limited", 3)).toEqual([200, 200, 429]);
    await h.runtime.apply(batch(TypeUrl.RouteConfiguration, RouteConfigurationSchema, [routes(limit("per_route", 2, "1000s"), [{ match: { prefix: "/new" }, route: { cluster: "be" } }])], "2"));
    expect((await curl(p, "/new")).status).toBe(200);
    expect((await curl(p, "/limited")).status).toBe(429);
    // Only the bucket's own parameters decide whether it is the same bucket; headers don't.
    await h.runtime.apply(batch(TypeUrl.RouteConfiguration, RouteConfigurationSchema, [routes(limit("per_route", 2, "1000s", { response_headers_to_add: [{ header: { key: "x-rl", value: "1" } }] }))], "3"));
    const r = await curl(p, "/limited");
    expect([r.status, r.headers["x-rl"]]).toEqual([429, "1"]);
    await h.runtime.apply(batch(TypeUrl.RouteConfiguration, RouteConfigurationSchema, [routes(limit("per_route", 3, "1000s"))], "4"));
    expect(await statuses(p, "/limited", 4)).toEqual([200, 200, 200, 429]);
  });

  it("keeps the listener-level bucket across an LDS update that changes something else", async () => {
    const p = h.port("inline");
    expect(await statuses(p, "/", 2)).toEqual([200, 429]);
    await h.runtime.apply(lds("2", { server_name: "rl-test" }));
    const r = await curl(h.port("inline"), "/");
    expect([r.status, r.headers["server"]]).toEqual([429, "rl-test"]);
  });

  it("NACKs fill_interval below 50ms and per-route configs without a bucket, naming the field; the old config keeps serving", async () => {
    const field = `virtual_hosts\\[0\\]\\.routes\\[0\\]\\.typed_per_filter_config\\["${KEY}"\\]\\.token_bucket`;
    const fast = batch(TypeUrl.RouteConfiguration, RouteConfigurationSchema, [routes(limit("per_route", 2, "0.010s"))], "5");
    await expect(h.runtime.apply(fast)).rejects.toThrow(ResourceRejectedError);
    await expect(h.runtime.apply(fast)).rejects.toThrow(new RegExp(`^rl: ${field}\\.fill_interval: 10ms is below the 50ms minimum`));
    const { token_bucket: _dropped, ...bucketless } = limit("per_route", 2, "1s");
    const none = batch(TypeUrl.RouteConfiguration, RouteConfigurationSchema, [routes(bucketless)], "6");
    await expect(h.runtime.apply(none)).rejects.toThrow(new RegExp(`^rl: ${field}: is required: a per-route local rate limit config needs its own bucket`));
    expect((await curl(h.port("lds"), "/limited")).status).toBe(429);
  });

  it("NACKs a listener-level config that is enabled but has no token_bucket", async () => {
    const { token_bucket: _dropped, ...bucketless } = limit("hcm_level", 1, "1s");
    const bad = batch(TypeUrl.Listener, ListenerSchema, [httpListener("inline", catchAll(), withFilter(bucketless))], "3");
    await expect(h.runtime.apply(bad)).rejects.toThrow(/^inline: .*http_filters\[0\]\.token_bucket: is required: filter_enabled is set but there is no bucket to check/);
    expect((await curl(h.port("inline"), "/")).status).toBe(429);
  });

  it("NACKs a header without a key, naming the field", async () => {
    const cfg = limit("hcm_level", 1, "1s", { request_headers_to_add_when_not_enforced: [{ header: { key: "", value: "v" } }] });
    const bad = batch(TypeUrl.Listener, ListenerSchema, [httpListener("inline", catchAll(), withFilter(cfg))], "4");
    await expect(h.runtime.apply(bad)).rejects.toThrow(/http_filters\[0\]\.request_headers_to_add_when_not_enforced\[0\]\.header\.key: header key is required/);
  });

  it("refuses the same mistakes in a static bootstrap", async () => {
    const listeners = [httpListener("s", catchAll(), withFilter(limit("s", 1, "0.010s")))];
    await expect(startRuntime({ clusters: [staticCluster("be", [be.port])], listeners })).rejects.toThrow(/token_bucket\.fill_interval: 10ms is below the 50ms minimum/);
  });

  it("reports local_cluster_rate_limit as not implemented (descriptors are, in local-ratelimit-descriptors.test.ts)", async () => {
    const cfg = limit("d", 5, "1s", { descriptors: [{ entries: [{ key: "k", value: "v" }], token_bucket: { max_tokens: 1, fill_interval: "1s" } }], local_cluster_rate_limit: {} });
    const r = await startRuntime({ clusters: [staticCluster("be", [be.port])], listeners: [httpListener("d", catchAll(), withFilter(cfg))] });
    try {
      expect(r.reports.map((x) => x.field)).toEqual(expect.arrayContaining(["local_ratelimit.local_cluster_rate_limit"]));
      expect(r.reports.map((x) => x.field)).not.toContain("local_ratelimit.descriptors");
      expect((await curl(r.port("d"), "/")).status).toBe(200);
    } finally {
      await r.close();
    }
  });
});

describe("local rate limit in two worker threads' runtimes (one shared bucket table)", () => {
  let be: Backend;
  let workers: Harness[] = [];
  const lds = (version: string, maxTokens: number, extra: Record<string, unknown> = {}) =>
    batch(TypeUrl.Listener, ListenerSchema, [httpListener("w", catchAll(), { ...withFilter(limit("shared", maxTokens, "1000s")), ...extra })], version);

  beforeAll(async () => {
    be = await startBackend(() => ({ status: 200, body: "ok" }));
    const memory = createSharedBucketMemory();
    workers = [await startRuntime({ clusters: [staticCluster("be", [be.port])] }, { rateLimitBuckets: memory }), await startRuntime({ clusters: [staticCluster("be", [be.port])] }, { rateLimitBuckets: memory })];
    // Worker 0 applies an update, then the others, as the primary relays it.
    for (const w of workers) await w.runtime.apply(lds("1", 3));
  });
  afterAll(async () => {
    for (const w of workers) await w.close();
    await be?.close();
  });

  /** One request per turn, alternating between the workers. */
  const alternating = async (n: number): Promise<number[]> => {
    const out = [];
    for (let i = 0; i < n; i++) out.push((await curl(workers[i % 2]!.port("w"), "/")).status);
    return out;
  };

  it("draws from one bucket in both, kept across an update that leaves it alone; a changed bucket starts full for both", async () => {
    expect(await alternating(5)).toEqual([200, 200, 200, 429, 429]);
    for (const w of workers) await w.runtime.apply(lds("2", 3, { server_name: "v2" }));
    expect(await alternating(2)).toEqual([429, 429]);
    for (const w of workers) await w.runtime.apply(lds("3", 4));
    expect(await alternating(5)).toEqual([200, 200, 200, 200, 429]);
  });
});

describe("local rate limit stats in /stats and /stats/prometheus", () => {
  /** Two denied-once runs through a real proxy, rendered as the admin endpoints do. */
  async function render(stats: StatsStoreImpl): Promise<{ text: string; prom: string }> {
    const be = await startBackend(() => ({ status: 200, body: "ok" }));
    const runtime = createProxyRuntime({ stats, accessLogs: captureAccessLogs().factory, logger: pino({ level: "silent" }), nodeId: "sidecar~127.0.0.1~t.default~default.svc.cluster.local", reportUnsupported: () => {} });
    try {
      const listeners = [httpListener("prom", catchAll(), withFilter(limit("http_local_rate_limiter", 1, "1000s")))];
      await runtime.applyBootstrap(fromEnvoyJson(BootstrapSchema, { static_resources: { clusters: [staticCluster("be", [be.port])], listeners } } as never));
      const port = runtime.boundPort("prom")!;
      expect([(await curl(port, "/")).status, (await curl(port, "/")).status]).toEqual([200, 429]);
      return { text: renderStatsText(stats), prom: renderPrometheus(stats) };
    } finally {
      await runtime.close();
      await be.close();
    }
  }

  it("Envoy's default tags: <stat_prefix>.http_local_rate_limit.*, envoy_http_local_rate_limit_* with the prefix as a label", async () => {
    const { text, prom } = await render(createStatsStore());
    expect(text).toContain("http_local_rate_limiter.http_local_rate_limit.rate_limited: 1");
    expect(text).toContain("http_local_rate_limiter.http_local_rate_limit.ok: 1");
    expect(prom).toMatch(/^envoy_http_local_rate_limit_rate_limited\{envoy_local_http_ratelimit_prefix="http_local_rate_limiter"\} 1$/m);
    expect(prom).toMatch(/^envoy_http_local_rate_limit_enabled\{envoy_local_http_ratelimit_prefix="http_local_rate_limiter"\} 2$/m);
    expect(prom).toMatch(/^envoy_http_local_rate_limit_enforced\{envoy_local_http_ratelimit_prefix="http_local_rate_limiter"\} 1$/m);
  });

  it("Istio's bootstrap (use_all_default_tags: false, no rate limit tag): the prefix stays in the name, as in an Istio sidecar", async () => {
    const { prom } = await render(createStatsStore({ tagProducer: createTagProducer(loadRev0Bootstrap().statsConfig) }));
    expect(prom).toContain("\nenvoy_http_local_rate_limiter_http_local_rate_limit_rate_limited{} 1\n");
  });
});

describe("filter_enabled / filter_enforced fractions", () => {
  afterEach(() => vi.restoreAllMocks());

  /** The filter without sockets: decodeHeaders on bare contexts, Math.random scripted. */
  function filterWith(cfg: Record<string, unknown>) {
    const stats = createFakeStats();
    const { "@type": _type, ...json } = cfg;
    const any = anyPack(LocalRateLimitSchema, fromEnvoyJson(LocalRateLimitSchema, json as never));
    const f = createLocalRateLimitFilterFactory().create("envoy.filters.http.local_ratelimit", any, { resource: "l", field: "f", report: () => {}, runtime: { stats } as never });
    const conn = { remoteIp: "127.0.0.1", remotePort: 1 };
    const run = () => f.decodeHeaders!({ headers: {}, conn, info: {} } as unknown as RequestContext);
    return { run, stats };
  }

  it("checks a request when random < numerator / denominator, as Envoy's featureEnabled", () => {
    const { run, stats } = filterWith({ ...limit("frac", 100, "1s"), filter_enabled: { default_value: { numerator: 25, denominator: "TEN_THOUSAND" } } });
    const draws = [0.0024, 0.0025, 0.5, 0.001];
    vi.spyOn(Math, "random").mockImplementation(() => draws.shift() ?? 0.9);
    for (let i = 0; i < 4; i++) run();
    expect(stats.get("frac.http_local_rate_limit.enabled")).toBe(2);
  });

  it("enforces only the drawn share of over-limit requests", () => {
    const { run, stats } = filterWith({ ...limit("enf", 1, "1000s"), filter_enforced: { default_value: { numerator: 50 } } });
    const draws = [0.1, 0.7];
    vi.spyOn(Math, "random").mockImplementation(() => draws.shift() ?? 0.9);
    expect(run()).toBeUndefined();
    expect(run()).toMatchObject({ status: 429, flag: "RL" });
    expect(run()).toBeUndefined();
    expect([stats.get("enf.http_local_rate_limit.rate_limited"), stats.get("enf.http_local_rate_limit.enforced")]).toEqual([2, 1]);
  });
});
