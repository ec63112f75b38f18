import { anyPack } from "@bufbuild/protobuf/wkt";
import { fromEnvoyJson } from "@weft/xds-api";
import { LocalRateLimitSchema } from "@weft/xds-api/gen/envoy/extensions/filters/http/local_ratelimit/v3/local_rate_limit_pb.js";
import { describe, expect, it } from "vitest";
import { ResourceRejectedError } from "../../contracts.js";
import type { CompileContext } from "../http-filter.js";
import { compileLocalRateLimit } from "./local-ratelimit-config.js";

const reports: Array<{ field: string; detail?: string }> = [];
const cc: CompileContext = { resource: "l", field: "f", report: (field, detail) => void reports.push({ field, detail }) };
const pack = (json: Record<string, unknown>) => anyPack(LocalRateLimitSchema, fromEnvoyJson(LocalRateLimitSchema, { stat_prefix: "p", ...json } as never));
const bucket = { max_tokens: 5, fill_interval: "1s" };

describe("compileLocalRateLimit()", () => {
  it("defaults as Envoy: tokens_per_fill 1, never enabled or enforced, status 429, no gRPC override", () => {
    const s = compileLocalRateLimit(pack({ token_bucket: bucket }), cc, false);
    expect(s.bucket).toEqual({ maxTokens: 5, tokensPerFill: 1, fillIntervalMs: 1000 });
    expect(s.enabled.numerator).toBe(0);
    expect(s.enforced.numerator).toBe(0);
    expect(s.status).toBe(429);
    expect(s.grpcStatus).toBeUndefined();
    expect(s.perConnection).toBe(false);
  });

  it.each([
    ["HUNDRED", 100],
    ["TEN_THOUSAND", 10_000],
    ["MILLION", 1_000_000],
  ])("reads a %s denominator", (denominator, d) => {
    const s = compileLocalRateLimit(pack({ token_bucket: bucket, filter_enabled: { default_value: { numerator: 7, denominator } } }), cc, false);
    expect(s.enabled).toEqual({ numerator: 7, denominator: d });
  });

  it("uses 429 for a status below 400, the status otherwise", () => {
    expect(compileLocalRateLimit(pack({ token_bucket: bucket, status: { code: "OK" } }), cc, false).status).toBe(429);
    expect(compileLocalRateLimit(pack({ token_bucket: bucket, status: { code: "ServiceUnavailable" } }), cc, false).status).toBe(503);
  });

  it("rejects a fill_interval under 50ms, a zero max_tokens or tokens_per_fill, naming the field", () => {
    const bad = (tb: Record<string, unknown>) => () => compileLocalRateLimit(pack({ token_bucket: tb }), cc, false);
    expect(bad({ max_tokens: 1, fill_interval: "0.049s" })).toThrow(/^l: f\.token_bucket\.fill_interval: 49ms is below the 50ms minimum/);
    expect(bad({ max_tokens: 1, fill_interval: "0.050s" })).not.toThrow();
    expect(bad({ max_tokens: 0, fill_interval: "1s" })).toThrow(/^l: f\.token_bucket\.max_tokens: must be greater than 0/);
    expect(bad({ max_tokens: 1, tokens_per_fill: 0, fill_interval: "1s" })).toThrow(/^l: f\.token_bucket\.tokens_per_fill: must be greater than 0/);
    expect(bad({ max_tokens: 1 })).toThrow(/^l: f\.token_bucket\.fill_interval: is required/);
  });

  it("needs a bucket per route, and at the HCM only when filter_enabled is set", () => {
    expect(() => compileLocalRateLimit(pack({}), cc, true)).toThrow(ResourceRejectedError);
    expect(compileLocalRateLimit(pack({}), cc, false).bucket).toBeUndefined();
    expect(() => compileLocalRateLimit(pack({ filter_enabled: { default_value: { numerator: 100 } } }), cc, false)).toThrow(/token_bucket: is required/);
  });

  it("rejects an empty stat_prefix", () => {
    expect(() => compileLocalRateLimit(pack({ stat_prefix: "", token_bucket: bucket }), cc, false)).toThrow(/^l: f\.stat_prefix: must not be empty/);
  });

  it("compiles descriptors, stage, vh_rate_limits and always_consume_default_token_bucket, reporting nothing", () => {
    reports.length = 0;
    const spec = compileLocalRateLimit(pack({ token_bucket: bucket, descriptors: [{ entries: [{ key: "k", value: "v" }], token_bucket: bucket }], stage: 1, vh_rate_limits: "INCLUDE" }), cc, false);
    expect(reports).toEqual([]);
    expect(spec.descriptors.map((d) => d.entries)).toEqual([["k", "v"]]);
    expect([spec.stage, spec.vhRateLimits, spec.alwaysConsumeDefault]).toEqual([1, "INCLUDE", true]);
    expect(compileLocalRateLimit(pack({ token_bucket: bucket, always_consume_default_token_bucket: false }), cc, false).alwaysConsumeDefault).toBe(false);
  });
});
