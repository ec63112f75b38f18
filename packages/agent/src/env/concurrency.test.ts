import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FALLBACK_CONCURRENCY, parseCpuLimit, readCgroupCpuQuota, resolveConcurrency } from "./concurrency.js";

/** A cgroup directory holding `files` (paths relative to it). */
function cgroupDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "weft-cgroup-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe("readCgroupCpuQuota()", () => {
  it("reads cgroup v2 cpu.max: a quota in whole cores rounded up, or none", () => {
    expect(readCgroupCpuQuota(cgroupDir({ "cpu.max": "250000 100000\n" }))).toBe(3);
    expect(readCgroupCpuQuota(cgroupDir({ "cpu.max": "50000 100000\n" }))).toBe(1);
    expect(readCgroupCpuQuota(cgroupDir({ "cpu.max": "max 100000\n" }))).toBeNull();
  });
  it("reads cgroup v1 cfs_quota_us over cfs_period_us, -1 meaning none", () => {
    expect(readCgroupCpuQuota(cgroupDir({ "cpu/cpu.cfs_quota_us": "200000\n", "cpu/cpu.cfs_period_us": "100000\n" }))).toBe(2);
    expect(readCgroupCpuQuota(cgroupDir({ "cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n" }))).toBeNull();
  });
  it("knows nothing without a cgroup file", () => {
    expect(readCgroupCpuQuota(cgroupDir({}))).toBeUndefined();
  });
});

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
  it("ignores ISTIO_CPU_LIMIT when the cgroup says the container has no CPU limit (the downward API then reports the node's CPUs)", () => {
    expect(resolveConcurrency(undefined, 62, 64, null)).toEqual({ workers: FALLBACK_CONCURRENCY, source: "default" });
    expect(resolveConcurrency(undefined, 2, 64, null).workers).toBe(2);
    // A quota confirms the limit, even one as large as the host.
    expect(resolveConcurrency(undefined, 4, 4, 4)).toEqual({ workers: 4, source: "cpu_limit" });
  });
  it("without a cgroup to read, reads a limit of the whole host as no limit", () => {
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
    // A "limit" the cgroup says the container does not have warns of nothing.
    expect(resolveConcurrency(0, 2, 6, null).warning).toBeUndefined();
  });
});
