// internal_address_config → Envoy's InternalAddressConfig::isInternalAddress:
// the classic set when no cidr_ranges, exactly the ranges when given, Unix
// sockets only with unix_sockets, and a NACK naming the bad range.
import { create } from "@bufbuild/protobuf";
import { HttpConnectionManager_InternalAddressConfigSchema } from "@weft/xds-api/gen/envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager_pb.js";
import { CidrRangeSchema } from "@weft/xds-api/gen/envoy/config/core/v3/address_pb.js";
import { describe, expect, it } from "vitest";
import { compileInternalAddressConfig, isClassicInternalAddress } from "./internal-address.js";

const cfg = (ranges: Array<[string, number?]>, unixSockets = false) =>
  create(HttpConnectionManager_InternalAddressConfigSchema, { unixSockets, cidrRanges: ranges.map(([addressPrefix, prefixLen]) => create(CidrRangeSchema, { addressPrefix, prefixLen })) });

describe("isClassicInternalAddress()", () => {
  it.each([
    ["10.0.0.1", true], ["10.255.255.255", true], ["172.16.0.1", true], ["172.31.255.254", true], ["192.168.1.1", true],
    ["127.0.0.1", true], ["::ffff:10.1.2.3", true], ["::1", true], ["fd00::1", true], ["fdff:1:2:3::4", true],
    // Envoy counts 127.0.0.1 only, not 127/8, and fd00::/8 only, not all of fc00::/7.
    ["127.0.0.2", false], ["fc00::1", false], ["172.15.0.1", false], ["172.32.0.1", false], ["192.169.0.1", false],
    ["11.0.0.1", false], ["203.0.113.7", false], ["::2", false], ["2001:db8::1", false], ["fe80::1", false],
    ["", false], ["10.0.0", false], ["10.0.0.1.2", false], ["10.0.0.256", false], ["garbage", false], ["1::2::3", false],
  ])("%s → %s", (ip, want) => {
    expect(isClassicInternalAddress(ip)).toBe(want);
  });
});

describe("compileInternalAddressConfig()", () => {
  it("unset: the classic set, Unix sockets external", () => {
    const p = compileInternalAddressConfig(undefined, "l", "hcm.internal_address_config");
    expect([p("10.1.1.1"), p("203.0.113.1"), p("")]).toEqual([true, false, false]);
  });

  it("cidr_ranges replace the classic set: only they are internal", () => {
    const p = compileInternalAddressConfig(cfg([["203.0.113.0", 24], ["2001:db8:a::", 48]]), "l", "f");
    expect(p("203.0.113.77")).toBe(true);
    expect(p("203.0.114.1")).toBe(false);
    expect(p("10.0.0.1")).toBe(false);
    expect(p("127.0.0.1")).toBe(false);
    expect(p("2001:db8:a:ffff::1")).toBe(true);
    expect(p("2001:db8:b::1")).toBe(false);
    expect(p("::ffff:203.0.113.5")).toBe(true);
  });

  it("unix_sockets makes a Unix-socket peer internal", () => {
    expect(compileInternalAddressConfig(cfg([], true), "l", "f")("")).toBe(true);
    expect(compileInternalAddressConfig(cfg([["10.0.0.0", 8]], true), "l", "f")("")).toBe(true);
    expect(compileInternalAddressConfig(cfg([["10.0.0.0", 8]], false), "l", "f")("")).toBe(false);
  });

  it("an unset prefix_len is 0, as Envoy's CidrRange: the whole family", () => {
    const p = compileInternalAddressConfig(cfg([["192.0.2.1"]]), "l", "f");
    expect(p("8.8.8.8")).toBe(true);
    expect(p("::1")).toBe(false);
  });

  it.each([
    [[["not-an-ip", 8]], /^l: f\.cidr_ranges\[0\]\.address_prefix: "not-an-ip" is not an IP address/],
    [[["10.0.0.0", 8], ["10.0.0.0", 33]], /^l: f\.cidr_ranges\[1\]\.prefix_len: 33 exceeds 32/],
    [[["fd00::", 129]], /^l: f\.cidr_ranges\[0\]\.prefix_len: 129 exceeds 128/],
  ] as Array<[Array<[string, number?]>, RegExp]>)("rejects %j naming the field", (ranges, re) => {
    expect(() => compileInternalAddressConfig(cfg(ranges), "l", "f")).toThrow(re);
  });
});
