import { fromEnvoyJson } from "@weft/xds-api";
import { RateLimitSchema, type RateLimit } from "@weft/xds-api/gen/envoy/config/route/v3/route_components_pb.js";
import { describe, expect, it } from "vitest";
import type { RequestContext } from "../http/request-context.js";
import { maskAddress } from "./mask-address.js";
import { compileRateLimitPolicy, populateDescriptors, type RequestDescriptor } from "./rate-limit-policy.js";

const rl = (j: Record<string, unknown>) => fromEnvoyJson(RateLimitSchema, j as never) as RateLimit;
const ctx = (path: string, headers: Record<string, string | string[]> = {}, ip = "10.1.2.3") =>
  ({ path, method: "GET", authority: "h", scheme: "http", headers, downstreamRemoteIp: ip, info: { dynamicMetadata: { "envoy.lb": { tier: "gold" } } } }) as unknown as RequestContext;
const inputs = { localCluster: "productpage.default", routeCluster: "outbound|9080||reviews" };

function produce(list: Array<Record<string, unknown>>, c: RequestContext, stage = 0): string[][] {
  const reports: string[] = [];
  const policy = compileRateLimitPolicy(list.map(rl), undefined, "r", "rate_limits", (f) => reports.push(f));
  const out: RequestDescriptor[] = [];
  populateDescriptors(policy, stage, c, inputs, out);
  return out.map((d) => d.entries);
}

describe("populateDescriptors()", () => {
  it("one descriptor per rate limit, entries in action order", () => {
    const got = produce([{ actions: [{ source_cluster: {} }, { destination_cluster: {} }] }, { actions: [{ generic_key: { descriptor_value: "v" } }, { remote_address: {} }] }], ctx("/"));
    expect(got).toEqual([
      ["source_cluster", "productpage.default", "destination_cluster", "outbound|9080||reviews"],
      ["generic_key", "v", "remote_address", "10.1.2.3"],
    ]);
  });

  it("request_headers takes the first of several values; a missing one drops the descriptor unless skip_if_absent", () => {
    expect(produce([{ actions: [{ request_headers: { header_name: "X-A", descriptor_key: "a" } }] }], ctx("/", { "x-a": ["1", "2"] }))).toEqual([["a", "1"]]);
    expect(produce([{ actions: [{ request_headers: { header_name: "x-a", descriptor_key: "a" } }, { generic_key: { descriptor_value: "v" } }] }], ctx("/"))).toEqual([]);
    expect(produce([{ actions: [{ request_headers: { header_name: "x-a", descriptor_key: "a", skip_if_absent: true } }, { generic_key: { descriptor_value: "v" } }] }], ctx("/"))).toEqual([["generic_key", "v"]]);
  });

  it("query_parameter_value_match reads decoded values; expect_match false inverts", () => {
    const q = (expect_match: boolean) => [{ actions: [{ query_parameter_value_match: { descriptor_value: "d", expect_match, query_parameters: [{ name: "q", string_match: { exact: "a b" } }] } }] }];
    expect(produce(q(true), ctx("/x?q=a%20b"))).toEqual([["query_match", "d"]]);
    expect(produce(q(true), ctx("/x?q=c"))).toEqual([]);
    expect(produce(q(false), ctx("/x?q=c"))).toEqual([["query_match", "d"]]);
  });

  it("dynamic metadata, with default_value and skip_if_absent", () => {
    const md = (key: string, extra: Record<string, unknown> = {}) => [{ actions: [{ metadata: { descriptor_key: "tier", metadata_key: { key: "envoy.lb", path: [{ key }] }, ...extra } }] }];
    expect(produce(md("tier"), ctx("/"))).toEqual([["tier", "gold"]]);
    expect(produce(md("nope"), ctx("/"))).toEqual([]);
    expect(produce(md("nope", { default_value: "bronze" }), ctx("/"))).toEqual([["tier", "bronze"]]);
  });

  it("only the asked stage; disable_key entries never", () => {
    const list = [{ actions: [{ generic_key: { descriptor_value: "s0" } }] }, { stage: 2, actions: [{ generic_key: { descriptor_value: "s2" } }] }, { stage: 2, disable_key: "k", actions: [{ generic_key: { descriptor_value: "off" } }] }];
    expect(produce(list, ctx("/"), 2)).toEqual([["generic_key", "s2"]]);
    expect(produce(list, ctx("/"), 0)).toEqual([["generic_key", "s0"]]);
  });
});

describe("maskAddress()", () => {
  it("masks as Envoy's CidrRange prints", () => {
    expect(maskAddress("10.1.2.3", 24, 128)).toBe("10.1.2.0/24");
    expect(maskAddress("::ffff:10.1.2.3", 8, 128)).toBe("10.0.0.0/8");
    expect(maskAddress("10.1.2.3", 0, 128)).toBe("0.0.0.0/0");
    expect(maskAddress("2001:db8:1:2:3:4:5:6", 32, 64)).toBe("2001:db8:1:2::/64");
    expect(maskAddress("2001:0db8::1", 32, 128)).toBe("2001:db8::1/128");
    expect(maskAddress("not-an-ip", 32, 128)).toBeUndefined();
  });
});
