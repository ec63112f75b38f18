import { describe, expect, it } from "vitest";
import { anyCidrContains, bestCidrMatch, cidrContains, compileCidr } from "./cidr.js";

const cidr = (addressPrefix: string, prefixLen?: number, unsetLen?: "host" | "zero") => compileCidr({ addressPrefix, prefixLen }, "l", "r", unsetLen);

describe("compileCidr() / cidrContains()", () => {
  it.each([
    ["10.1.0.0", 16, "10.1.255.7", true],
    ["10.1.0.0", 16, "10.2.0.1", false],
    ["10.1.0.0", 16, "::ffff:10.1.2.3", true],
    ["0.0.0.0", 0, "203.0.113.9", true],
    ["192.168.1.1", 32, "192.168.1.1", true],
    ["192.168.1.1", 32, "192.168.1.2", false],
    ["10.0.0.0", 8, "fd00::1", false],
    ["fd00::", 8, "fd12:3456::1", true],
    ["fd00::", 8, "fc00::1", false],
    ["2001:db8::", 33, "2001:db8:7fff::1", true],
    ["2001:db8::", 33, "2001:db8:8000::1", false],
    ["::1", 128, "::1", true],
    ["::1", 128, "::2", false],
    ["fd00::", 8, "10.0.0.1", false],
    ["10.0.0.0", 8, "10.0.0", false],
    ["10.0.0.0", 8, "10.0.0.256", false],
  ])("%s/%d holds %s: %s", (prefix, len, ip, expected) => {
    expect(cidrContains(cidr(prefix, len), ip)).toBe(expected);
  });

  it("reads an unset prefix_len as the host (filter chains, RBAC) or, as Envoy's CidrRange, 0", () => {
    expect(cidrContains(cidr("10.0.0.1"), "10.0.0.2")).toBe(false);
    expect(cidrContains(cidr("10.0.0.1", undefined, "zero"), "192.0.2.1")).toBe(true);
  });

  it("masks the address, so equal ranges have equal keys", () => {
    expect(cidr("10.1.2.3", 16).key).toBe(cidr("10.1.0.0", 16).key);
    expect(cidr("2001:db8:ffff::", 32).key).toBe(cidr("2001:db8::", 32).key);
    expect(cidr("10.1.0.0", 16).key).not.toBe(cidr("10.1.0.0", 24).key);
  });

  it.each([
    ["not-an-ip", 8, /r\.address_prefix: "not-an-ip" is not an IP address/],
    ["1:2:3:4:5:6:7:8:9", 64, /is not an IP address/],
    ["10.0.0.0", 33, /r\.prefix_len: 33 exceeds 32/],
    ["::", 129, /r\.prefix_len: 129 exceeds 128/],
  ])("refuses %s/%d", (prefix, len, message) => {
    expect(() => cidr(prefix, len)).toThrow(message);
  });

  it("anyCidrContains and bestCidrMatch look at both families", () => {
    const ranges = [cidr("10.0.0.0", 8), cidr("10.1.0.0", 16), cidr("fd00::", 8)];
    expect(anyCidrContains(ranges, "fd00::5")).toBe(true);
    expect(anyCidrContains(ranges, "192.0.2.1")).toBe(false);
    expect(bestCidrMatch(ranges, "10.1.9.9")).toBe(16);
    expect(bestCidrMatch(ranges, "2001:db8::1")).toBe(-1);
  });
});
