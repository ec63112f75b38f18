import { anyPack } from "@bufbuild/protobuf/wkt";
import { fromEnvoyJson } from "@weft/xds-api";
import { RBACPerRouteSchema, RBACSchema } from "@weft/xds-api/gen/envoy/extensions/filters/http/rbac/v3/rbac_pb.js";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { createFakeStats } from "../../test-util/fake-stats.js";
import { testRequest } from "../../test-util/authz.js";
import type { HttpFilter } from "../http-filter.js";
import type { RequestContext } from "../request-context.js";
import { rbacFilterFactory } from "./rbac-filter.js";
import { createDefaultHttpFilters } from "./default-filters.js";
import { compileRouteConfig } from "../../runtime/compile-route-config.js";
import { RouteConfigurationSchema } from "@weft/xds-api/gen/envoy/config/route/v3/route_pb.js";

const logger = pino({ level: "silent" });

function filter(json: unknown, stats = createFakeStats()): HttpFilter {
  const any = anyPack(RBACSchema, fromEnvoyJson(RBACSchema, json as never));
  return rbacFilterFactory.create("envoy.filters.http.rbac", any, {
    resource: "l",
    field: "f",
    report() {},
    statPrefix: "inbound_0.0.0.0_80",
    runtime: { stats, logger, cluster: () => undefined },
  });
}

const denyPath = (path: string) => ({
  rules: { action: "DENY", policies: { "ns[foo]-policy[deny-p]-rule[0]": { permissions: [{ url_path: { path: { exact: path } } }], principals: [{ any: true }] } } },
});
const allowGet = {
  rules: { action: "ALLOW", policies: { "ns[foo]-policy[allow-get]-rule[0]": { permissions: [{ header: { name: ":method", exact_match: "GET" } }], principals: [{ any: true }] } } },
};

async function run(filters: HttpFilter[], ctx: RequestContext) {
  for (const f of filters) {
    const r = await f.decodeHeaders?.(ctx);
    if (r) return r;
  }
  return undefined;
}

describe("envoy.filters.http.rbac", () => {
  it("denies with Envoy's 403 body and details, and counts allowed/denied under http.<prefix>.rbac.", async () => {
    const stats = createFakeStats();
    const f = filter(denyPath("/p"), stats);
    const r = await f.decodeHeaders!(testRequest({ path: "/p" }));
    expect(r).toMatchObject({ status: 403, body: "RBAC: access denied", details: "rbac_access_denied_matched_policy[ns[foo]-policy[deny-p]-rule[0]]" });
    expect(await f.decodeHeaders!(testRequest({ path: "/q" }))).toBeUndefined();
    expect(stats.get("http.inbound_0.0.0.0_80.rbac.denied")).toBe(1);
    expect(stats.get("http.inbound_0.0.0.0_80.rbac.allowed")).toBe(1);
  });

  it("an ALLOW with no match denies with matched_policy[none]", async () => {
    const r = await filter(allowGet).decodeHeaders!(testRequest({ method: "POST" }));
    expect(r?.details).toBe("rbac_access_denied_matched_policy[none]");
  });

  it("DENY before ALLOW, as Istio emits them (two filters): a denied path stays denied even if the ALLOW matches", async () => {
    const chain = [filter(denyPath("/admin")), filter(allowGet)];
    expect(await run(chain, testRequest({ path: "/admin" }))).toMatchObject({ status: 403, details: expect.stringContaining("deny-p") });
    expect(await run(chain, testRequest({ path: "/ok" }))).toBeUndefined();
    expect(await run(chain, testRequest({ path: "/ok", method: "DELETE" }))).toMatchObject({ status: 403, details: "rbac_access_denied_matched_policy[none]" });
  });

  it("absent rules enforce nothing; shadow rules only record stats and metadata (Istio's dry-run prefix)", async () => {
    const stats = createFakeStats();
    const f = filter({ shadow_rules: denyPath("/p").rules, shadow_rules_stat_prefix: "istio_dry_run_allow_" }, stats);
    const ctx = testRequest({ path: "/p" });
    expect(await f.decodeHeaders!(ctx)).toBeUndefined();
    expect(stats.get("http.inbound_0.0.0.0_80.rbac.istio_dry_run_allow_shadow_denied")).toBe(1);
    expect(ctx.info.dynamicMetadata?.["envoy.filters.http.rbac"]).toEqual({
      istio_dry_run_allow_shadow_engine_result: "denied",
      istio_dry_run_allow_shadow_effective_policy_id: "ns[foo]-policy[deny-p]-rule[0]",
    });
  });

  it("rules present with no policies (ALLOW) deny everything", async () => {
    expect((await filter({ rules: {} }).decodeHeaders!(testRequest()))?.status).toBe(403);
  });

  it("RBACPerRoute overrides the filter's rules, and an empty one disables it on that route", async () => {
    const f = filter(denyPath("/p"));
    const perRoute = (json: unknown) =>
      rbacFilterFactory.compilePerRoute!(anyPack(RBACPerRouteSchema, fromEnvoyJson(RBACPerRouteSchema, json as never)), { resource: "r", field: "x", report() {} });
    const disabled = perRoute({});
    const stricter = perRoute({ rbac: denyPath("/q") });
    const ctx = testRequest({ path: "/p" });
    ctx.route = { perFilter: new Map([["envoy.filters.http.rbac", disabled]]) } as never;
    expect(await f.decodeHeaders!(ctx)).toBeUndefined();
    const q = testRequest({ path: "/q" });
    q.vhost = { perFilter: new Map([["envoy.filters.http.rbac", stricter]]) } as never;
    expect((await f.decodeHeaders!(q))?.status).toBe(403);
  });

  it("a per-route RBAC wrapped in envoy.config.route.v3.FilterConfig still applies", async () => {
    const rc = compileRouteConfig(
      fromEnvoyJson(RouteConfigurationSchema, {
        name: "r",
        virtual_hosts: [
          {
            name: "v",
            domains: ["*"],
            routes: [
              {
                match: { prefix: "/" },
                route: { cluster: "c" },
                typed_per_filter_config: {
                  "envoy.filters.http.rbac": {
                    "@type": "type.googleapis.com/envoy.config.route.v3.FilterConfig",
                    config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.rbac.v3.RBACPerRoute", rbac: denyPath("/q") },
                  },
                },
              },
            ],
          },
        ],
      } as never),
      { filters: createDefaultHttpFilters(), report() {} },
    );
    const ctx = testRequest({ path: "/q" });
    ctx.route = rc.star!.routes[0];
    expect((await filter(denyPath("/p")).decodeHeaders!(ctx))?.status).toBe(403);
  });

  it("rejects a config whose matchers it cannot evaluate (fail closed), naming the field", () => {
    expect(() => filter({ rules: { action: "ALLOW", policies: { p: { permissions: [{ uri_template: { name: "x", typed_config: { "@type": "type.googleapis.com/google.protobuf.Empty" } } }], principals: [{ any: true }] } } } })).toThrow(
      /l: f\.typed_config\.rules\.policies\[p\]\.permissions\[0\]\.uri_template/,
    );
  });
});
