// How many proxy workers a sidecar runs, decided the way pilot-agent decides it
// (pilot/cmd/pilot-agent/config): a concurrency ProxyConfig sets wins (0
// included); unset, the container's CPU limit decides, which the injector
// hands over as ISTIO_CPU_LIMIT (the downward API's limits.cpu in whole cores,
// rounded up: 2500m → 3). 0 means a worker per host CPU, as it does for Envoy
// (the proxy itself reads --concurrency 0 as one worker, so the agent
// expands it). With neither, weft keeps Istio's long-standing
// default of 2 where Envoy would start a thread per host core — every weft
// worker is a whole event loop costing ≈ 26 MB (bench/RESULTS.md), so "all
// cores" on a large node is not a default anyone wants from a sidecar.
// For the same reason a CPU limit the container does not actually have is
// ignored: for a container without one (common where limits are dropped to
// avoid throttling) the downward API reports the node's allocatable CPUs,
// which would mean 64 workers on a 64-core node. The container's own cgroup
// says which it is (cpu.max "max", or cfs_quota_us -1: no limit); where the
// cgroup can't be read, a "limit" of at least the host's CPU count counts as
// none.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AgentError } from "../errors.js";

export const FALLBACK_CONCURRENCY = 2;

/** What decided the worker count: pilot-agent's --concurrency flag, ProxyConfig, ISTIO_CPU_LIMIT or the fallback. */
export type ConcurrencySource = "flag" | "proxy_config" | "cpu_limit" | "default";

export interface Concurrency {
  workers: number;
  source: ConcurrencySource;
  /** Set when the choice is likely a mistake (pilot-agent warns about the same one). */
  warning?: string;
}

/**
 * ISTIO_CPU_LIMIT in whole cores, rounded up. Kubernetes writes an integer; a quantity
 * like "500m" or "1.5" (set by hand) is read the same way. Empty or unset: undefined.
 */
export function parseCpuLimit(value: string | undefined): number | undefined {
  const v = value?.trim();
  if (!v) return undefined;
  const m = /^(\d+(?:\.\d+)?)(m?)$/.exec(v);
  if (!m) throw new AgentError("invalid_env", `ISTIO_CPU_LIMIT: "${v}" is not a CPU quantity (whole cores like "2", or millicores like "500m")`);
  const cores = Number(m[1]) / (m[2] === "m" ? 1000 : 1);
  return Math.ceil(cores);
}

/**
 * The container's CPU quota from its cgroup (v2 `cpu.max`, else v1 `cpu/cpu.cfs_quota_us`
 * over `cfs_period_us`) in whole cores rounded up; null when the cgroup sets no quota;
 * undefined when there is no cgroup file to read.
 */
export function readCgroupCpuQuota(dir = "/sys/fs/cgroup"): number | null | undefined {
  const read = (path: string): string | undefined => {
    try {
      return readFileSync(join(dir, path), "utf8").trim();
    } catch {
      return undefined;
    }
  };
  const v2 = read("cpu.max");
  if (v2 !== undefined) {
    const [quota, period] = v2.split(/\s+/);
    return quota === "max" ? null : cores(Number(quota), Number(period ?? 100_000));
  }
  const v1 = read("cpu/cpu.cfs_quota_us");
  if (v1 === undefined) return undefined;
  const quota = Number(v1);
  return quota < 0 ? null : cores(quota, Number(read("cpu/cpu.cfs_period_us") ?? 100_000));
}

function cores(quota: number, period: number): number | undefined {
  return quota > 0 && period > 0 ? Math.ceil(quota / period) : undefined;
}

/**
 * ProxyConfig's concurrency when set; else the CPU limit, when the container really has
 * one (`cgroupQuota`: readCgroupCpuQuota(); unknown: when it is below the host's CPUs);
 * else FALLBACK_CONCURRENCY.
 */
export function resolveConcurrency(configured: number | undefined, cpuLimit: number | undefined, hostCpus: number, cgroupQuota?: number | null): Concurrency {
  const real = cgroupQuota === null ? false : cgroupQuota !== undefined || (cpuLimit ?? 0) < hostCpus;
  const limit = cpuLimit !== undefined && cpuLimit > 0 && real ? cpuLimit : undefined;
  if (configured === 0) {
    const c: Concurrency = { workers: hostCpus, source: "proxy_config" };
    if (limit !== undefined && limit < hostCpus) {
      c.warning = `concurrency 0 starts a proxy worker per host CPU (${hostCpus}) but the CPU limit is ${limit}: the workers will be throttled. Leave concurrency unset to follow the limit, or set it to ${limit}.`;
    }
    return c;
  }
  if (configured !== undefined) return { workers: configured, source: "proxy_config" };
  if (limit !== undefined) return { workers: limit, source: "cpu_limit" };
  return { workers: FALLBACK_CONCURRENCY, source: "default" };
}
