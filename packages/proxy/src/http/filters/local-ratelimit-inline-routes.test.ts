// Per-route local rate limits in inline route configs: each filter chain's
// route_config is its own instance, as in Envoy, so two listeners whose inline
// route configs carry the same name (or none) do not share a bucket.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpListener, staticCluster, startRuntime, type Harness } from "../../test-util/runtime-harness.js";
import { curl, startBackend, type Backend } from "../../test-util/recording-backend.js";

const LIMIT = {
  "envoy.filters.http.local_ratelimit": {
    "@type": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit",
    stat_prefix: "rl",
    token_bucket: { max_tokens: 1, fill_interval: "60s" },
    filter_enabled: { default_value: { numerator: 100 } },
    filter_enforced: { default_value: { numerator: 100 } },
  },
};
const FILTERS = [
  { name: "envoy.filters.http.local_ratelimit", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit", stat_prefix: "rl" } },
  { name: "envoy.filters.http.router", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" } },
];

function limited(name: string, routeConfigName: string): Record<string, unknown> {
  const vhosts = [{ name: "v", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "be" }, typed_per_filter_config: LIMIT }] }];
  const l = httpListener(name, vhosts, { http_filters: FILTERS, access_log: [] }) as { filter_chains: Array<{ filters: Array<{ typed_config: { route_config: { name: string } } }> }> };
  l.filter_chains[0]!.filters[0]!.typed_config.route_config.name = routeConfigName;
  return l;
}

describe("local rate limits in inline route configs", () => {
  let be: Backend;
  let h: Harness;
  beforeAll(async () => {
    be = await startBackend(() => ({ status: 200, body: "ok" }));
    h = await startRuntime({ clusters: [staticCluster("be", [be.port])], listeners: [limited("a", "same"), limited("b", "same"), limited("c", ""), limited("d", "")] });
  });
  afterAll(async () => {
    await h?.close();
    await be?.close();
  });

  it("gives each listener's route its own bucket, whatever the route configs are named", async () => {
    for (const l of ["a", "b", "c", "d"]) {
      expect((await curl(h.port(l), "/")).status, `first request on ${l}`).toBe(200);
      expect((await curl(h.port(l), "/")).status, `second request on ${l}`).toBe(429);
    }
  });
});
