import { describe, expect, it } from "vitest";
import { FALLBACK_CONCURRENCY, parseCpuLimit, resolveConcurrency } from "./concurrency.js";

describe("parseCpuLimit()", () => {
  it("reads the downward API's whole cores and rounds a hand-written quantity up", () => {
    expect(parseCpuLimit("2")).toBe(2);
    expect(parseCpuLimit(" 3 ")).toBe(3);
    expect(parseCpuLimit("2500m")).toBe(3);
    expect(parseCpuLimit("500m")).toBe(1);
    expect(parseCpuLimit("1.5")).toBe(2);
    expect(parseCpuLimit("0")).toBe(0);
  });
  it("treats empty or unset as no limit", () => {
    expect(parseCpuLimit(undefined)).toBeUndefined();
    expect(parseCpuLimit("")).toBeUndefined();
  });
  it.each(["two", "-1", "2 cores", "1e3", "0x2"])("rejects %j, naming the variable and the expected form", (v) => {
    expect(() => parseCpuLimit(v)).toThrow(/ISTIO_CPU_LIMIT: .* is not a CPU quantity \(whole cores like "2", or millicores like "500m"\)/);
  });
});

describe("resolveConcurrency()", () => {
  it("follows ProxyConfig when it sets a count, whatever the limit", () => {
    expect(resolveConcurrency(4, 1, 8)).toEqual({ workers: 4, source: "proxy_config" });
    expect(resolveConcurrency(1, undefined, 8)).toEqual({ workers: 1, source: "proxy_config" });
  });
  it("follows the CPU limit when ProxyConfig leaves it unset (Istio's 2500m → 3)", () => {
    expect(resolveConcurrency(undefined, parseCpuLimit("2500m"), 16)).toEqual({ workers: 3, source: "cpu_limit" });
    expect(resolveConcurrency(undefined, 1, 16)).toEqual({ workers: 1, source: "cpu_limit" });
  });
  it("reads a limit of the whole host as no limit (the downward API's answer for a container without one)", () => {
    expect(resolveConcurrency(undefined, 64, 64)).toEqual({ workers: FALLBACK_CONCURRENCY, source: "default" });
    expect(resolveConcurrency(undefined, 96, 64).workers).toBe(2);
    expect(resolveConcurrency(undefined, 63, 64)).toEqual({ workers: 63, source: "cpu_limit" });
  });
  it("falls back to Istio's old default of 2, not a worker per host CPU, without either", () => {
    expect(resolveConcurrency(undefined, undefined, 64)).toEqual({ workers: FALLBACK_CONCURRENCY, source: "default" });
    expect(resolveConcurrency(undefined, 0, 64).workers).toBe(2);
  });
  it("expands 0 to a worker per host CPU, warning when the CPU limit is lower", () => {
    expect(resolveConcurrency(0, undefined, 6)).toEqual({ workers: 6, source: "proxy_config" });
    expect(resolveConcurrency(0, 8, 6).warning).toBeUndefined();
    expect(resolveConcurrency(0, 2, 6)).toMatchObject({ workers: 6, warning: expect.stringMatching(/per host CPU \(6\) but the CPU limit is 2.*set it to 2/) });
  });
});
